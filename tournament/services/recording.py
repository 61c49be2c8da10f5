"""Recording a played match: its rounds, logs, score and forfeit audit events, in one transaction.

The coordinator records what in-process and remote workers play. Local worker processes record their
own matches (`RecordInWorker`, carried by the job), so that writing rounds is spread over the workers
instead of queuing in the coordinator: with every round persisted, writing costs about as much as
playing, and one writer would cap a run at what it writes per second.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass, replace

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from tournament.orchestration.executors.local import workers_may_open
from tournament.orchestration.jobs import when_idle
from tournament.orchestration.match import MatchPlayed
from tournament.persistence import audit as audit_repo
from tournament.persistence import tournaments as tournament_repo
from tournament.persistence.database import Database, open_database, sqlite_path
from tournament.persistence.errors import MatchAlreadyRecordedError
from tournament.persistence.tournaments import MatchInfo, PreparedMatch
from tournament.picklable import by_fields


def record_played(connection: Connection, match: MatchInfo, played: MatchPlayed) -> None:
    """Store a played match in the connection's transaction (see `tournament_repo.record_match`).

    A Core connection rather than an ORM session: a session's begin and commit cost about 140 us a
    match, more than the database's own work for a 200-round one; the rare forfeit audit events get a
    session of their own on the same connection.
    """
    _write(connection, match, played, _prepare(connection, match, played))


def _prepare(connection: Connection, match: MatchInfo, played: MatchPlayed) -> PreparedMatch:
    forfeits = tuple(
        (None, None) if f is None else (str(f.reason), f.detail)
        for f in (played.first_forfeit_a, played.first_forfeit_b)
    )
    return tournament_repo.prepare_match(
        connection,
        match.match_id,
        score=played.score,
        rounds=played.rounds,
        first_forfeits=(forfeits[0], forfeits[1]),
        logs=played.logs,
    )


def _write(connection: Connection, match: MatchInfo, played: MatchPlayed, prepared: PreparedMatch) -> None:
    tournament_repo.write_match(connection, prepared)
    if played.first_forfeit_a is not None or played.first_forfeit_b is not None:
        with Session(bind=connection) as session:
            _audit_forfeits(session, match, played)
            session.flush()


def _audit_forfeits(session: Session, match: MatchInfo, played: MatchPlayed) -> None:
    """One 'forfeit' audit event per player that forfeited in the match (its first forfeit's reason)."""
    sides = (
        ("a", match.version_a_id, played.first_forfeit_a, played.score.forfeits_a, match.strategy_b),
        ("b", match.version_b_id, played.first_forfeit_b, played.score.forfeits_b, match.strategy_a),
    )
    for side, version_id, forfeit, count, opponent in sides:
        if forfeit is None:
            continue
        reasons = (r.forfeit_a if side == "a" else r.forfeit_b for r in played.rounds)
        first_round = next((index for index, reason in enumerate(reasons) if reason is not None), None)
        audit_repo.record_event(
            session,
            "forfeit",
            "engine",
            version_id=version_id,
            match_id=match.match_id,
            detail={
                "tournament_id": match.tournament_id,
                "opponent": opponent,
                "reason": str(forfeit.reason),
                "detail": forfeit.detail,
                "round": first_round,
                "forfeited_rounds": count,
            },
        )


def workers_can_record(db: Database) -> bool:
    """Whether local worker processes can open `db` themselves: PostgreSQL, or a SQLite file that their
    zygote did not inherit open (see `workers_may_open`); not an in-memory SQLite."""
    if db.dialect != "sqlite":
        return True
    path = sqlite_path(db)
    return path is not None and workers_may_open(path)


class _WorkerDatabase:
    """A worker process's connection to the run's database, and for SQLite its writer lock.

    SQLite admits one writer at a time, and a writer that finds the database locked sleeps in its busy
    handler (1, 2, 5, 10 ms ...), long after the other writer is done: measured, two workers recording
    RPS matches of 1,000 rounds spent longer than the coordinator writing alone. Workers therefore
    queue for an exclusive `flock` on the database file before they write, and the kernel wakes the
    next one the moment the lock is free. flock and SQLite's own POSIX locks do not interact on Linux,
    but closing any descriptor of the file drops this process's POSIX locks: the descriptor is closed
    only after the engine's connections are.
    """

    def __init__(self, url: str) -> None:
        self.db = open_database(url, migrate=False)
        self._path = sqlite_path(self.db)
        self._lock = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC) if self._path is not None else None
        self._connection: Connection | None = None
        """Kept from one match to the next while the worker is busy (a checkout from the engine's pool and
        its return cost about 75 us a match), and given back when it idles, so that the next run checks
        out again (PostgreSQL's pre-ping replaces a connection the server dropped meanwhile)."""

    def replaced(self) -> bool:
        """Whether the URL's file is no longer the one this connection writes to (deleted, or replaced by
        a new database at the same path): a pooled worker must not write a later run into the old one."""
        if self._lock is None or self._path is None:
            return False
        try:
            now = os.stat(self._path)
        except OSError:
            return True
        held = os.fstat(self._lock)
        return (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino)

    def record(self, match: MatchInfo, played: MatchPlayed) -> None:
        """Record in one transaction; the statements are built and bound before this worker's turn
        (nothing is locked until the first statement runs), so the turn is the database's work only."""
        connection = self._connection
        if connection is None or connection.closed or connection.invalidated:
            connection = self._connection = self.db.engine.connect()
            when_idle(self._drop_connection)
        try:
            prepared = _prepare(connection, match, played)
            if self._lock is not None:
                fcntl.flock(self._lock, fcntl.LOCK_EX)
            try:
                with connection.begin():
                    _write(connection, match, played, prepared)
            finally:
                if self._lock is not None:
                    fcntl.flock(self._lock, fcntl.LOCK_UN)
        except BaseException:
            if connection.invalidated:  # the server went away: the next match connects afresh
                self._drop_connection()
            raise

    def _drop_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def close(self) -> None:
        self._drop_connection()
        self.db.close()
        if self._lock is not None:
            os.close(self._lock)


_databases: dict[str, _WorkerDatabase] = {}
"""This worker process's database (the last run's; process-wide by necessity, like its runtimes)."""
_retired: list[_WorkerDatabase] = []
"""Databases this worker wrote to before the current one, to close when it is idle."""


def _worker_database(url: str) -> _WorkerDatabase:
    database = _databases.get(url)
    if database is None or database.replaced():
        _retired.extend(_databases.values())
        _databases.clear()
        database = _databases[url] = _WorkerDatabase(url)
        if _retired:
            when_idle(_close_retired)
    return database


def _close_retired() -> None:
    """Close the databases of earlier runs, between runs: the last connection to a WAL database to
    close checkpoints it, ~13 ms for one IPD run's rounds, which the first match of the next run would
    otherwise wait for."""
    while _retired:
        _retired.pop().close()


@by_fields
@dataclass(frozen=True, slots=True)
class RecordInWorker:
    """Records the match in the worker process that played it; what the worker replies is the result
    without its rounds and logs (the coordinator only counts and reports it).

    Recording is as atomic as in the coordinator: the match flips to 'finished' in the transaction that
    stores its rounds, so a worker killed while writing leaves it pending (the coordinator plays it again,
    with identical rounds). If a worker dies after its commit and before its reply, the second attempt
    finds the match already recorded: the stored match is the one it would have written.
    """

    url: str
    match: MatchInfo

    def __call__(self, played: MatchPlayed) -> MatchPlayed:
        with contextlib.suppress(MatchAlreadyRecordedError):
            _worker_database(self.url).record(self.match, played)
        return replace(played, rounds=(), logs=())

    def in_coordinator(self, db: Database, played: MatchPlayed) -> MatchPlayed:
        """Record, as `__call__` would, a match the coordinator played itself, on the run's `db` (the
        coordinator keeps no database of its own). Without the workers' flock: closing a descriptor of
        the file would drop this process's SQLite locks. The coordinator plays only in short runs, or
        until its workers are up; a write that meets a worker's waits in SQLite's busy handler, as
        the lease's heartbeat does."""
        with contextlib.suppress(MatchAlreadyRecordedError), db.engine.begin() as connection:
            record_played(connection, self.match, played)
        return replace(played, rounds=(), logs=())
