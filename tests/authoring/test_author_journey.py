"""An author's whole journey per language: new, build, submit, play in a tournament; then a new version.

Everything goes through the real `tournament` command (real toolchains, isolated validation, a real
database); a tournament created before a new version was submitted keeps playing the version it snapshotted.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, tournament_id
from tournament.persistence import open_database
from tournament.services.tournaments import (
    TournamentRequest,
    create_tournament,
    get_tournament,
    run_tournament,
)

BUILT = re.compile(r"sha256 (?P<sha>[0-9a-f]{64})")


@pytest.fixture
def sqlite_cli(tmp_path: Path) -> Cli:
    return Cli(f"sqlite:///{tmp_path / 'journey.db'}")


def build(cli: Cli, language: str, folder: Path) -> tuple[Path, str]:
    cli("strategy", "new", f"bot-{language}", "--lang", language, "--dir", str(folder))
    output = folder.with_suffix(".wasm")
    built = cli("strategy", "build", str(folder), "-o", str(output))
    match = BUILT.search(built.stdout + built.stderr)
    assert match is not None, built.stdout
    return output, match["sha"]


@pytest.mark.slow
@pytest.mark.parametrize("language", ["c", "python", "rust", "js"])
def test_from_new_to_a_tournament(sqlite_cli: Cli, tmp_path: Path, language: str) -> None:
    cli = sqlite_cli
    component, _ = build(cli, language, tmp_path / "bot")
    name = f"bot-{language}"
    submitted = cli("strategy", "submit", str(component), "--name", name, "--version", "1.0.0")
    assert f"stored {name} 1.0.0 (active)" in submitted.stdout
    result = cli("run", "--rounds", "100", "--seed", "5", "--strategies", f"{name},constant")
    rows = cli.rows(tournament_id(result))
    bot_payoffs = [int(r["payoff_a"] if r["player_a"] == name else r["payoff_b"]) for r in rows]
    assert sum(bot_payoffs) >= 98, "the scaffold beats the opponent's last move"
    assert not any(r["forfeit_a"] or r["forfeit_b"] for r in rows)


@pytest.mark.slow
def test_a_started_tournament_keeps_the_first_version(sqlite_cli: Cli, tmp_path: Path) -> None:
    cli = sqlite_cli
    first, first_hash = build(cli, "c", tmp_path / "first")
    second, second_hash = build(cli, "rust", tmp_path / "second")
    assert first_hash != second_hash
    cli("strategy", "submit", str(first), "--name", "bot", "--version", "1.0.0")

    db = open_database(cli.db_url)
    try:
        request = TournamentRequest(game="rps", rounds=20, seed=1, strategies=["bot", "rotate"])
        started = create_tournament(db, request)
        cli("strategy", "submit", str(second), "--name", "bot", "--version", "1.1.0")
        run_tournament(db, started, workers=1)
        later = tournament_id(cli("run", "--rounds", "20", "--seed", "1", "--strategies", "bot,rotate"))
        versions = {
            tid: {p.name: p.content_hash for p in get_tournament(db, tid).participants}["bot"]
            for tid in (started, later)
        }
    finally:
        db.close()
    assert versions == {started: first_hash, later: second_hash}
    shown = cli("strategy", "show", "bot").stdout
    assert "1.0.0" in shown
    assert "1.1.0" in shown
