"""Local worker processes record the matches they play; the coordinator records when they cannot."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tournament.orchestration.executors.pool import WorkerPool
from tournament.orchestration.executors.process_worker import IDLE_AFTER_S
from tournament.orchestration.match import MatchPlayed
from tournament.paths import BUILTINS_MANIFEST
from tournament.persistence import Database, open_database
from tournament.persistence import tournaments as tournament_repo
from tournament.persistence.tournaments import MatchInfo
from tournament.services.exports import write_rounds_csv
from tournament.services.recording import RecordInWorker, workers_can_record
from tournament.services.tournaments import TournamentRequest, create_tournament, run_tournament

FIELD = ("beat-last", "constant", "rotate", "rfind", "iocaine-powder")


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    with open_database(db_url, builtins_manifest=BUILTINS_MANIFEST) as database:
        yield database


def _create(db: Database, repetitions: int = 2) -> int:
    request = TournamentRequest(game="rps", rounds=120, seed=11, strategies=FIELD, repetitions=repetitions)
    return create_tournament(db, request)


def _rounds(db: Database, tournament_id: int) -> list[str]:
    """The exported rounds without the match id column (two tournaments have different ids)."""
    out = io.StringIO()
    write_rounds_csv(db, tournament_id, out)
    return [line.split(",", 1)[1] for line in out.getvalue().splitlines()]


def test_worker_processes_record_their_matches_exactly_as_the_coordinator_does(
    db: Database, tmp_path: Path
) -> None:
    reference, tournament_id = _create(db), _create(db)
    in_process: list[int] = []
    run_tournament(
        db, reference, workers=1, cache_dir=tmp_path, on_match=lambda _m, p: in_process.append(len(p.rounds))
    )
    reported: list[tuple[int, int]] = []

    def report(_match: MatchInfo, played: MatchPlayed) -> None:
        reported.append((len(played.rounds), played.score.rounds))

    assert workers_can_record(db)
    info = run_tournament(db, tournament_id, workers=2, cache_dir=tmp_path, on_match=report)
    assert info.status == "finished"
    matches = len(FIELD) * (len(FIELD) - 1) // 2 * 2
    assert in_process == [120] * matches  # the coordinator recorded these: it had the rounds
    assert reported == [(0, 120)] * matches  # the workers recorded these: only the score came back
    assert _rounds(db, tournament_id) == _rounds(db, reference)
    with db.sessions() as session:
        assert tournament_repo.match_counts(session, tournament_id) == (matches, matches)


def test_what_workers_record_satisfies_every_foreign_key(db: Database, tmp_path: Path) -> None:
    """Workers' own SQLite connections enforce foreign keys like the coordinator's, and what they
    recorded passes SQLite's full check."""
    if db.dialect != "sqlite":
        pytest.skip("SQLite only: PostgreSQL always enforces foreign keys")
    tournament_id = _create(db, repetitions=1)
    assert run_tournament(db, tournament_id, workers=2, cache_dir=tmp_path).status == "finished"
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    with open_database(db.url, migrate=False) as worker, worker.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_recording_a_match_a_second_time_keeps_the_first_copy(db: Database, tmp_path: Path) -> None:
    """A worker that dies between its commit and its reply: the retry plays the match again and finds it
    recorded; the run goes on with one copy."""
    reference, tournament_id = _create(db, repetitions=1), _create(db, repetitions=1)
    played: list[MatchPlayed] = []
    run_tournament(db, reference, workers=1, cache_dir=tmp_path, on_match=lambda _m, p: played.append(p))
    with db.sessions() as session:
        matches = tournament_repo.list_matches(session, tournament_id)
    for match, result in zip(matches, played, strict=True):
        record = RecordInWorker(db.url, match)
        for _ in range(2):
            reply = record(result)
            assert (reply.rounds, reply.logs, reply.score) == ((), (), result.score)
    assert _rounds(db, tournament_id) == _rounds(db, reference)


def test_an_in_memory_database_cannot_be_shared_with_workers() -> None:
    with open_database("sqlite://", builtins_manifest=BUILTINS_MANIFEST) as database:
        assert not workers_can_record(database)


_FORK_CHECK = """
import sys
from pathlib import Path
from tournament.orchestration.executors import local
from tournament.persistence.database import open_database
from tournament.services.tournaments import prepare_workers

folder = Path(sys.argv[1])
held = open_database(f"sqlite:///{folder / 'held.db'}")
with held.sessions() as session:
    session.connection()  # a pooled connection keeps the file open
closed = open_database(f"sqlite:///{folder / 'closed.db'}")
with closed.sessions() as session:
    session.connection()
assert local._single_threaded()
prepare_workers(2, None, closed)  # closes `closed`'s connections, then forks the zygote
assert local._ZYGOTES.handle is not None and local._ZYGOTES.handle.forked
later = open_database(f"sqlite:///{folder / 'later.db'}")
print(*(local.workers_may_open(folder / name) for name in ("held.db", "closed.db", "later.db")))
"""


def test_workers_do_not_open_a_file_their_zygote_inherited_open(tmp_path: Path) -> None:
    """SQLite keeps each open file's lock state in process memory: a zygote forked while the coordinator
    had the database open would hand its workers a copy that trusts locks they do not hold."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_FORK_CHECK), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "True"]


def test_a_database_replaced_at_the_same_path_gets_a_fresh_connection(tmp_path: Path) -> None:
    """A pooled worker keeps its connection from run to run: if the file at the URL was replaced in
    between (a database deleted and created again), the next match must go to the new file."""
    url = f"sqlite:///{tmp_path / 'replaced.db'}"
    for attempt in range(2):
        with open_database(url, builtins_manifest=BUILTINS_MANIFEST) as db:
            reference, tournament_id = _create(db, repetitions=1), _create(db, repetitions=1)
            played = _played_in_process(db, reference)
            with db.sessions() as session:
                matches = tournament_repo.list_matches(session, tournament_id)
            for match, result in zip(matches, played, strict=True):
                RecordInWorker(url, match)(result)
            assert _rounds(db, tournament_id) == _rounds(db, reference), attempt
        for suffix in ("", "-wal", "-shm"):
            (tmp_path / f"replaced.db{suffix}").unlink(missing_ok=True)


def test_a_pooled_worker_reconnects_when_the_server_dropped_its_connection(
    db: Database, tmp_path: Path
) -> None:
    """A worker keeps its connection while it plays a run and gives it back when it idles: the next run
    checks out again, so a connection the server dropped in between is replaced (pre-ping), not used."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL only: a SQLite file has no server to drop connections")
    with WorkerPool() as pool:
        first = _create(db, repetitions=1)
        assert run_tournament(db, first, workers=2, cache_dir=tmp_path, pool=pool).status == "finished"
        time.sleep(IDLE_AFTER_S * 4)  # the workers idle and give their connections back
        with db.engine.connect() as connection:
            killed = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
        assert killed  # the coordinator's and the pooled workers' connections
        second = _create(db, repetitions=1)
        info = run_tournament(db, second, workers=2, cache_dir=tmp_path, pool=pool)
        assert info.status == "finished", info.error


def _played_in_process(db: Database, tournament_id: int) -> list[MatchPlayed]:
    """The matches of a run in this process, as the progress callback sees them (rounds included)."""
    played: list[MatchPlayed] = []
    run_tournament(db, tournament_id, workers=1, on_match=lambda _m, p: played.append(p))
    return played
