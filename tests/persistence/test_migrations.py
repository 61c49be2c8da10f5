"""Migrations create the schema the models describe, go down and up again, and tolerate racing openers."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from tournament.persistence import (
    Database,
    MatchPlan,
    create_tournament,
    list_matches,
    list_strategies,
    open_database,
    record_match,
    round_blocks,
)
from tournament.persistence.database import (
    create_database_engine,
    current_revision,
    head_revision,
    migrate_schema,
)
from tournament.persistence.models import Base
from tournament.rules.forfeits import ForfeitReason
from tournament.rules.records import RoundRecord

from .conftest import add_strategy, fake_component, score_of, scripted_rounds, write_manifest

REPO = Path(__file__).resolve().parents[2]
TABLES = {
    "component_blobs",
    "strategies",
    "strategy_versions",
    "tournaments",
    "tournament_entries",
    "matches",
    "round_blocks",
    "match_logs",
    "authors",
    "audit_events",
    "schedules",
    "strategy_tags",
}


def _tables(database: Database) -> set[str]:
    return set(inspect(database.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_from_empty_creates_every_table_at_head(database: Database) -> None:
    assert _tables(database) == TABLES
    with database.engine.connect() as connection:
        assert current_revision(connection) == head_revision()


def test_models_match_the_migrations(database: Database) -> None:
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_lookup_indexes_exist(database: Database) -> None:
    inspector = inspect(database.engine)
    match_indexes = {tuple(index["column_names"]) for index in inspector.get_indexes("matches")}
    assert ("version_a_id", "version_b_id") in match_indexes
    assert ("version_b_id",) in match_indexes
    uniques = {tuple(unique["column_names"]) for unique in inspector.get_unique_constraints("matches")}
    assert ("tournament_id", "position") in uniques
    assert inspector.get_pk_constraint("round_blocks")["constrained_columns"] == ["match_id", "first_round"]


def test_downgrade_to_base_and_up_again(database: Database) -> None:
    migrate_schema(database.engine, "base", direction="downgrade")
    assert _tables(database) == set()
    with database.engine.connect() as connection:
        assert current_revision(connection) is None
    migrate_schema(database.engine)
    assert _tables(database) == TABLES
    with database.engine.connect() as connection:
        assert current_revision(connection) == head_revision()


def test_alembic_command_line_reports_head(db_url: str) -> None:
    open_database(db_url).close()
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-x", f"url={db_url}", "current"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"{head_revision()} (head)" in result.stdout


def test_alembic_command_line_upgrades_a_new_database(db_url: str) -> None:
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(
        [sys.executable, "-m", "alembic", "-x", f"url={db_url}", "upgrade", "head"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        check=True,
    )
    engine = create_database_engine(db_url)
    try:
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
    finally:
        engine.dispose()


def test_reopening_a_current_database_is_a_no_op(database: Database) -> None:
    again = open_database(database.url)
    try:
        with again.engine.connect() as connection:
            assert current_revision(connection) == head_revision()
    finally:
        again.close()


def test_concurrent_first_opens_all_succeed(db_url: str, tmp_path: Path) -> None:
    manifest = write_manifest(
        tmp_path / "builtins",
        [(name, "1.0.0", fake_component(name)) for name in ("rock", "paper", "scissors")],
    )

    def open_and_close(_: int) -> int:
        db = open_database(db_url, builtins_manifest=manifest)
        try:
            with db.sessions() as session:
                return len(list_strategies(session))
        finally:
            db.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = list(pool.map(open_and_close, range(4)))
    assert counts == [3, 3, 3, 3]


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'nested' / 'folder' / 't.db'}")
    try:
        with db.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30000
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 1
    finally:
        db.close()
    assert (tmp_path / "nested" / "folder" / "t.db").exists()


def _rounds_sql(database: Database) -> str:
    with database.engine.connect() as connection:
        return str(
            connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'rounds'").scalar_one()
        )


_ROUND_COLUMNS = (
    "round", "move_a", "move_b", "payoff_a", "payoff_b", "noise_a", "noise_b", "forfeit_a", "forfeit_b",
    "fuel_a", "fuel_b",
)  # fmt: skip


def _old_rounds(count: int) -> list[tuple[object, ...]]:
    """Rows as the ``rounds`` table of 0001-0004 held them: noise, forfeits and 40-bit fuel included."""
    rows: list[tuple[object, ...]] = [
        (i, i % 3, (i + 1) % 3, 1, -1, False, False, None, None, 7, 9) for i in range(count)
    ]
    rows[1] = (1, 1, 2, 1, -1, True, False, None, None, 3, 4)
    rows[2] = (2, None, 0, -1, 1, False, True, "trap", None, 0, 2**40)
    rows[3] = (3, 2, None, 1, -1, False, False, None, "illegal-move", 5, 0)
    return rows


def _insert_old_rounds(database: Database, match_id: int, rows: list[tuple[object, ...]]) -> None:
    columns = ", ".join(_ROUND_COLUMNS)
    markers = ", ".join(f":{name}" for name in _ROUND_COLUMNS)
    with database.engine.begin() as connection:
        connection.execute(
            text(f"INSERT INTO rounds (match_id, {columns}) VALUES (:match_id, {markers})"),
            [{"match_id": match_id, **dict(zip(_ROUND_COLUMNS, row, strict=True))} for row in rows],
        )


def _old_stored(database: Database) -> list[tuple[object, ...]]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            text(f"SELECT match_id, {', '.join(_ROUND_COLUMNS)} FROM rounds ORDER BY match_id, round")
        )
        return [(*row[:6], bool(row[6]), bool(row[7]), *row[8:]) for row in rows]


def _blocks_stored(database: Database) -> list[tuple[object, ...]]:
    with database.engine.connect() as connection:
        blocks = connection.execute(
            text(
                "SELECT match_id, first_round, rounds, width, data FROM round_blocks"
                " ORDER BY match_id, first_round"
            )
        ).all()
    return [
        (match_id, *row[:7], *(None if reason is None else str(reason) for reason in row[7:9]), *row[9:])
        for match_id, *block in blocks
        for row in round_blocks.decode(round_blocks.Block(block[0], block[1], block[2], bytes(block[3])))
    ]


def test_rounds_stored_before_0005_are_packed_into_blocks_and_back(db_url: str) -> None:
    """0004 rebuilds SQLite's `rounds` WITHOUT ROWID (a no-op on PostgreSQL); 0005 packs every stored
    round into `round_blocks` (a 1,100-round match into two blocks) and its downgrade unpacks them, with
    noise, forfeits and 40-bit fuel intact both ways; a deleted match still takes its rounds along."""
    engine = create_database_engine(db_url)
    try:
        migrate_schema(engine, "0003")
    finally:
        engine.dispose()
    database = open_database(db_url, migrate=False)
    try:
        players = [add_strategy(database, name) for name in ("alpha", "beta")]
        alpha, beta = (player.version_id for player in players)
        plans = [MatchPlan(position, 0, alpha, beta, seed=position) for position in range(3)]
        with database.sessions.begin() as session:
            tournament_id = create_tournament(
                session, game="rps", rounds=6, repetitions=1, seed=1, noise=0.1, config={},
                engine_version="0.1.0", participants=players, matches=plans,
            )  # fmt: skip
            match_ids = [match.match_id for match in list_matches(session, tournament_id)]
        _insert_old_rounds(database, match_ids[0], _old_rounds(6))
        _insert_old_rounds(database, match_ids[1], _old_rounds(1_100))
        before = _old_stored(database)
        assert len(before) == 1_106
        sqlite = database.dialect == "sqlite"
        if sqlite:
            assert "WITHOUT ROWID" not in _rounds_sql(database)

        migrate_schema(database.engine, "0004")
        assert _old_stored(database) == before
        if sqlite:
            assert "WITHOUT ROWID" in _rounds_sql(database)

        migrate_schema(database.engine)
        assert "rounds" not in _tables(database)
        assert _blocks_stored(database) == before
        with database.engine.connect() as connection:
            counts = connection.execute(
                text("SELECT match_id, rounds FROM round_blocks ORDER BY match_id, first_round")
            )
            assert [tuple(row) for row in counts] == [
                (match_ids[0], 6),
                (match_ids[1], 1_024),
                (match_ids[1], 76),
            ]
        rounds = [
            *scripted_rounds(4),
            RoundRecord(4, None, 0, -1, 1, forfeit_a=ForfeitReason.TRAP, fuel_b=2**40),
        ]
        with database.sessions.begin() as session:
            record_match(
                session, match_ids[2], score=score_of(rounds), rounds=rounds,
                first_forfeits=(("trap", "unreachable"), (None, None)),
            )  # fmt: skip
        with database.engine.begin() as connection:
            connection.execute(text("DELETE FROM matches WHERE id = :id"), {"id": match_ids[0]})
        remaining = _blocks_stored(database)
        assert remaining[:1_100] == before[6:]
        assert remaining[1_100:] == [
            (match_ids[2], *(str(v) if isinstance(v, ForfeitReason) else v for v in record.as_row()))
            for record in rounds
        ]

        migrate_schema(database.engine, "0003", direction="downgrade")
        assert _old_stored(database) == remaining
        if sqlite:
            assert "WITHOUT ROWID" not in _rounds_sql(database)
    finally:
        database.close()
