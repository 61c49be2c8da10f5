"""Shared fixtures: the same tests run on a SQLite file and on a real PostgreSQL server.

PostgreSQL runs when ``TOURNAMENT_TEST_PG_URL`` points at a server (``bash scripts/postgres.sh`` starts
one and prints the URL); each test then gets its own freshly created database, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tournament.persistence import Database, open_database

PG_URL_VARIABLE = "TOURNAMENT_TEST_PG_URL"


def _postgres_admin_url(server_url: str) -> str:
    """The server URL pointed at the maintenance database, with the psycopg 3 driver."""
    return (
        make_url(server_url)
        .set(drivername="postgresql+psycopg", database="postgres")
        .render_as_string(hide_password=False)
    )


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database: a SQLite file in tmp_path, or a new uniquely named PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tournament.db'}"
        return
    server_url = os.environ.get(PG_URL_VARIABLE)
    if not server_url:
        pytest.skip(
            f"PostgreSQL tests need {PG_URL_VARIABLE} (export {PG_URL_VARIABLE}=$(bash scripts/postgres.sh))"
        )
    name = f"tournament_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(_postgres_admin_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """The database at ``db_url``, migrated to head (no built-ins registered)."""
    db = open_database(db_url)
    try:
        yield db
    finally:
        db.close()
