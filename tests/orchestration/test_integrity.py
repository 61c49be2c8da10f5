"""`tournament check`: a consistent database passes, and every check catches its own kind of corruption."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.cli.conftest import Cli
from tournament.paths import BUILTINS_MANIFEST
from tournament.persistence import Database, open_database, round_blocks
from tournament.persistence.models import ComponentBlob, RoundBlock, StrategyVersion, TournamentEntry
from tournament.rules.records import RoundRow
from tournament.services.integrity import check_database
from tournament.services.tournaments import TournamentRequest, create_tournament, run_tournament

FIELD = ("beat-last", "constant", "rotate")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture
def played(db_url: str, cache: Path) -> Iterator[tuple[Database, int]]:
    """A finished 3-strategy tournament (matches 1-3) and a pending one (matches 4-6)."""
    with open_database(db_url, builtins_manifest=BUILTINS_MANIFEST) as db:
        tournament_id = create_tournament(
            db, TournamentRequest(game="rps", rounds=30, seed=3, strategies=FIELD)
        )
        run_tournament(db, tournament_id, workers=1, cache_dir=cache)
        create_tournament(db, TournamentRequest(game="rps", rounds=30, seed=4, strategies=FIELD))
        yield db, tournament_id


Corruption = str | Callable[[Session], None]
"""An SQL statement, or a change made through the ORM where SQL cannot say it portably."""


def _sql(db: Database, *statements: Corruption) -> None:
    with db.sessions.begin() as session:
        for statement in statements:
            if isinstance(statement, str):
                session.execute(text(statement))
            else:
                statement(session)


def _flip_byte(session: Session) -> None:
    """Change one byte of a participant's stored component (portable: no SQL blob functions)."""
    blob = session.scalars(
        select(ComponentBlob)
        .join(StrategyVersion, StrategyVersion.content_hash == ComponentBlob.content_hash)
        .join(TournamentEntry, TournamentEntry.strategy_version_id == StrategyVersion.id)
        .where(TournamentEntry.tournament_id == 1, TournamentEntry.seat == 0)
    ).one()
    blob.data = blob.data[:-1] + bytes([blob.data[-1] ^ 1])


def _restore(
    match_id: int, change: Callable[[list[RoundRow]], list[list[RoundRow]]]
) -> Callable[[Session], None]:
    """Store the match's rounds again as `change` regroups them (one or more runs, each its own blocks)."""

    def corrupt(session: Session) -> None:
        stored = session.scalars(
            select(RoundBlock).where(RoundBlock.match_id == match_id).order_by(RoundBlock.first_round)
        ).all()
        blocks = [round_blocks.Block(old.first_round, old.rounds, old.width, old.data) for old in stored]
        rows = list(round_blocks.decode_all(blocks))
        for old in stored:
            session.delete(old)
        session.flush()
        for run in change(rows):
            for new in round_blocks.encode(run):
                session.add(
                    RoundBlock(
                        match_id=match_id,
                        first_round=new.first_round,
                        rounds=new.rounds,
                        width=new.width,
                        data=new.data,
                    )
                )

    return corrupt


def _more_b(rows: list[RoundRow]) -> list[list[RoundRow]]:
    """Round 3 pays B 5 more."""
    row = rows[3]
    return [[*rows[:3], (*row[:4], row[4] + 5, *row[5:]), *rows[4:]]]


def _unknown_forfeit_code(session: Session) -> None:
    """Round 0 of match 1 gets forfeit code 15 for A, which no reason has (the flags column comes last)."""
    block = session.scalars(select(RoundBlock).where(RoundBlock.match_id == 1)).one()
    flags = len(round_blocks.COLUMNS) - 1
    at = flags * block.rounds * block.width
    block.data = block.data[:at] + bytes([15 << 2]) + block.data[at + 1 :]


def test_a_consistent_database_passes(played: tuple[Database, int]) -> None:
    db, tournament_id = played
    report = check_database(db)
    assert report.problems == []
    assert (report.tournaments, report.matches, report.rounds) == (2, 6, 90)
    assert report.blobs >= 3
    assert report.summary().startswith("ok: 2 tournaments, 6 matches, 90 rounds, ")
    one = check_database(db, tournament_id)
    assert (one.ok, one.tournaments, one.matches, one.blobs) == (True, 1, 3, 3)


CORRUPTIONS: dict[str, tuple[list[Corruption], str]] = {
    "missing round": (
        [_restore(1, lambda rows: [rows[:29]])],
        "tournament 1 match 1: its round blocks hold 29 rounds (numbered 0..28), expected 30 numbered 0..29",
    ),
    "missing block": (
        [_restore(1, lambda rows: [rows[:10], rows[20:]])],
        "tournament 1 match 1: round blocks leave a gap at rounds 10..19",
    ),
    "overlapping blocks": (
        [_restore(1, lambda rows: [rows[:20], rows[10:]])],
        "tournament 1 match 1: round blocks overlap at rounds 10..19",
    ),
    "renumbered round": (
        ["UPDATE round_blocks SET first_round = 1 WHERE match_id = 2"],
        "tournament 1 match 2: its round blocks hold 30 rounds (numbered 1..30), expected 30 numbered 0..29",
    ),
    "truncated block": (
        ["UPDATE round_blocks SET rounds = 29 WHERE match_id = 1"],
        "tournament 1 match 1: the round block at round 0 is corrupt: a block of 29 rounds at width",
    ),
    "bad width": (
        ["UPDATE round_blocks SET width = 3 WHERE match_id = 2"],
        "tournament 1 match 2: the round block at round 0 is corrupt: a block of 30 rounds at width 3",
    ),
    "unknown forfeit code": (
        [_unknown_forfeit_code],
        "tournament 1 match 1: the round block at round 0 is corrupt: unknown forfeit code 15",
    ),
    "rounds_played": (["UPDATE matches SET rounds_played = 31 WHERE id = 3"], "rounds_played is 31"),
    "total": (["UPDATE matches SET total_a = total_a + 1 WHERE id = 1"], "tournament 1 match 1: total_a is"),
    "wins": (["UPDATE matches SET wins_b = wins_b + 1 WHERE id = 2"], "tournament 1 match 2: wins_b is"),
    "draws": (["UPDATE matches SET draws = draws + 1 WHERE id = 3"], "tournament 1 match 3: draws is"),
    "forfeits": (
        ["UPDATE matches SET forfeits_a = 1 WHERE id = 1"],
        "forfeits_a is 1 but its rounds sum to 0",
    ),
    "payoff": ([_restore(1, _more_b)], "tournament 1 match 1: total_b is"),
    "outcome": (
        ["UPDATE matches SET outcome = CASE WHEN outcome = 'a' THEN 'b' ELSE 'a' END WHERE id = 2"],
        "tournament 1 match 2: outcome is",
    ),
    "rounds on a pending match": (
        ["UPDATE matches SET status = 'pending' WHERE id = 3"],
        "tournament 1 match 3: pending but has 30 recorded rounds",
    ),
    "finished with a pending match": (
        [
            "DELETE FROM round_blocks WHERE match_id = 3",
            "UPDATE matches SET status = 'pending', rounds_played = NULL, outcome = NULL WHERE id = 3",
        ],
        "tournament 1: finished but 1 of its matches are not",
    ),
    "logs on a pending match": (
        ["INSERT INTO match_logs (match_id, player, round, message) VALUES (4, 'a', 0, 'early')"],
        "tournament 2 match 4: pending but has 1 log lines",
    ),
    "failed without error": (
        ["UPDATE matches SET status = 'failed' WHERE id = 5"],
        "failed without an error",
    ),
    "missing match": (["DELETE FROM matches WHERE id = 6"], "tournament 2: has 2 matches, expected 3"),
    "foreign player": (
        [
            "UPDATE matches SET version_a_id = (SELECT MAX(id) FROM strategy_versions WHERE id NOT IN "
            "(SELECT strategy_version_id FROM tournament_entries WHERE tournament_id = 1)) WHERE id = 1"
        ],
        "tournament 1 match 1: player a (version",
    ),
    "blob bytes": ([_flip_byte], "its bytes hash to"),
    "blob size": (
        [
            "UPDATE component_blobs SET size = size + 1 WHERE content_hash = (SELECT v.content_hash FROM "
            "strategy_versions v JOIN tournament_entries e ON e.strategy_version_id = v.id "
            "WHERE e.tournament_id = 1 AND e.seat = 1)"
        ],
        "but it holds",
    ),
    "lease on a finished tournament": (
        ["UPDATE tournaments SET runner = 'host:1:ab' WHERE id = 1"],
        "tournament 1: finished but still leased by host:1:ab",
    ),
    "finished without time": (
        ["UPDATE tournaments SET finished_at = NULL WHERE id = 1"],
        "tournament 1: finished but has no finished_at",
    ),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_each_check_catches_its_corruption(played: tuple[Database, int], corruption: str) -> None:
    db, _ = played
    statements, expected = CORRUPTIONS[corruption]
    _sql(db, *statements)
    report = check_database(db)
    assert not report.ok
    assert any(expected in problem for problem in report.problems), report.problems
    assert report.summary().startswith(f"{len(report.problems)} problem")


def test_rows_of_missing_matches_are_found(played: tuple[Database, int], db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL enforces the foreign keys that would prevent this corruption")
    db, _ = played
    raw = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("INSERT INTO round_blocks SELECT 99, first_round, rounds, width, data FROM round_blocks "
                "WHERE match_id = 1")  # fmt: skip
    raw.commit()
    raw.close()
    assert "match 99: does not exist but has 1 round blocks" in check_database(db).problems


def test_check_command_prints_one_line_per_problem(played: tuple[Database, int], db_url: str) -> None:
    db, _ = played
    cli = Cli(db_url)
    ok = cli("check")
    assert ok.stdout == "ok: 2 tournaments, 6 matches, 90 rounds, " + ok.stdout.split(", ", 3)[3]
    assert ok.stdout.count("\n") == 1
    _sql(db, *CORRUPTIONS["renumbered round"][0], *CORRUPTIONS["draws"][0])
    failed = cli("check", "1", expect=1)
    lines = failed.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("tournament 1 match 2: its round blocks hold 30 rounds (numbered 1..30)")
    assert lines[1].startswith("tournament 1 match 3: draws is")
    assert failed.stderr.startswith("2 problems in 1 tournament, 3 matches, 90 rounds")
    report = json.loads(cli("check", "--json", expect=1).stdout)
    assert (report["ok"], len(report["problems"]), report["checked"]["tournaments"]) == (False, 2, 2)
    assert cli("check", "7", expect=2).stderr == "error: no tournament with id 7\n"
