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

from tournament.persistence import Database, list_strategies, open_database
from tournament.persistence.database import (
    create_database_engine,
    current_revision,
    head_revision,
    migrate_schema,
)
from tournament.persistence.models import Base

from .conftest import fake_component, write_manifest

REPO = Path(__file__).resolve().parents[2]
TABLES = {
    "component_blobs",
    "strategies",
    "strategy_versions",
    "tournaments",
    "tournament_entries",
    "matches",
    "rounds",
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
    assert inspector.get_pk_constraint("rounds")["constrained_columns"] == ["match_id", "round"]


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
