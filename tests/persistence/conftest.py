"""Helpers for persistence tests: fake components, a temporary built-ins manifest, stored strategies."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from tournament.persistence import Database, StrategyVersionInfo, add_version
from tournament.rules.records import RoundRecord
from tournament.rules.scoring import MatchOutcome, MatchScore


def fake_component(label: str) -> bytes:
    """Opaque bytes standing in for a component (persistence never looks inside)."""
    return b"\x00asm\x0d\x00\x01\x00" + label.encode()


def write_manifest(
    folder: Path, strategies: Sequence[tuple[str, str, bytes]], games: Sequence[str] = ("rps",)
) -> Path:
    """A built-ins manifest in ``folder`` listing (name, version, bytes), each in its own .wasm file."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, version, data in strategies:
        (folder / f"{name}.wasm").write_bytes(data)
        entries.append(
            {
                "name": name,
                "version": version,
                "language": "c",
                "games": list(games),
                "description": f"the {name} bot",
                "file": f"{name}.wasm",
                "deterministic": True,
            }
        )
    path = folder / "manifest.json"
    path.write_text(json.dumps({"wit": "1.0.0", "strategies": entries}), encoding="utf-8")
    return path


def add_strategy(
    database: Database,
    name: str,
    *,
    games: Sequence[str] = ("rps",),
    version: str = "1.0.0",
    data: bytes | None = None,
) -> StrategyVersionInfo:
    """Store one active strategy version in its own transaction."""
    with database.sessions.begin() as session:
        return add_version(
            session,
            name=name,
            data=data if data is not None else fake_component(f"{name}@{version}"),
            version=version,
            language="c",
            games=games,
            description=f"{name} test bot",
            deterministic=True,
        )


def scripted_rounds(count: int, *, start_move: int = 0) -> list[RoundRecord]:
    """Distinguishable rounds: A plays (start + i) % 3, B plays 0; A wins the odd moves."""
    rounds = []
    for index in range(count):
        move_a = (start_move + index) % 3
        payoff = {0: 0, 1: 1, 2: -1}[move_a]
        rounds.append(
            RoundRecord(
                index=index,
                move_a=move_a,
                move_b=0,
                payoff_a=payoff,
                payoff_b=-payoff,
                fuel_a=100 + index,
                fuel_b=7,
            )
        )
    return rounds


def score_of(rounds: Sequence[RoundRecord]) -> MatchScore:
    """The plain score of scripted rounds (no draw band: enough for storage tests)."""
    total_a = sum(r.payoff_a for r in rounds)
    total_b = sum(r.payoff_b for r in rounds)
    outcome = (
        MatchOutcome.A_WINS
        if total_a > total_b
        else MatchOutcome.B_WINS
        if total_b > total_a
        else MatchOutcome.DRAW
    )
    return MatchScore(
        rounds=len(rounds),
        total_a=total_a,
        total_b=total_b,
        wins_a=sum(r.payoff_a > r.payoff_b for r in rounds),
        wins_b=sum(r.payoff_b > r.payoff_a for r in rounds),
        draws=sum(r.payoff_a == r.payoff_b for r in rounds),
        forfeits_a=sum(r.forfeit_a is not None for r in rounds),
        forfeits_b=sum(r.forfeit_b is not None for r in rounds),
        outcome=outcome,
    )


@pytest.fixture
def trio(database: Database) -> list[StrategyVersionInfo]:
    """Three stored rps strategies, in name order."""
    return [add_strategy(database, name) for name in ("alpha", "beta", "gamma")]
