"""Scheduling fixtures: a database with two real built-ins, a controllable clock, real WAT components."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.registry.conftest import components, small_manifest
from tournament.persistence import Database, open_database
from tournament.persistence.models import Tournament

__all__ = ["Clock", "LogLines", "components", "small_manifest"]

START = datetime(2026, 3, 2, 0, 3, tzinfo=UTC)
"""A Monday, a few minutes past midnight UTC."""


class Clock:
    """The scheduler's time, moved by the test (``sleep`` advances it instead of waiting)."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class LogLines(list[str]):
    """The scheduler's log lines, collected from every thread."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            self.append(line)

    def starting(self, prefix: str) -> list[str]:
        return [line for line in self if line.startswith(prefix)]


@pytest.fixture
def registry(db_url: str, small_manifest: Path) -> Iterator[Database]:
    """A fresh database (SQLite and PostgreSQL) with the built-ins `constant` and `rotate`."""
    db = open_database(db_url, builtins_manifest=small_manifest)
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def log() -> LogLines:
    return LogLines()


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture(autouse=True)
def artifact_cache(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiled components go to a folder of this test session, not the user's cache."""
    monkeypatch.setenv("TOURNAMENT_CACHE", str(cache_dir))


def scheduled(db: Database) -> list[tuple[int, int | None, datetime | None, str]]:
    """(id, schedule id, slot, status) of every tournament, by id."""
    from sqlalchemy import select

    with db.sessions() as session:
        rows = session.execute(
            select(
                Tournament.id, Tournament.schedule_id, Tournament.scheduled_for, Tournament.status
            ).order_by(Tournament.id)
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows]
