"""Run leases, cancellation and resuming through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from tournament.paths import BUILTINS_MANIFEST
from tournament.persistence import Database, open_database
from tournament.persistence import tournaments as tournament_repo
from tournament.persistence.errors import UnknownTournamentError
from tournament.persistence.models import Match, Tournament, utcnow
from tournament.services import runs
from tournament.services.errors import LeaseLostError, TournamentBusyError, TournamentStateError
from tournament.services.exports import write_rounds_csv
from tournament.services.runs import (
    CancelOutcome,
    RunLease,
    cancel_tournament,
    claim_run,
    resumable_tournaments,
    start_run,
)
from tournament.services.tournaments import (
    TournamentRequest,
    create_tournament,
    get_tournament,
    run_tournament,
)

FIELD = ("beat-last", "constant", "rotate", "rfind")
BEAT_S = 0.02
"""The heartbeat interval of the tests that wait for the heartbeat to notice something."""
HOST = socket.gethostname()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    with open_database(db_url, builtins_manifest=BUILTINS_MANIFEST) as database:
        yield database


def _create(db: Database, rounds: int = 100, repetitions: int = 1) -> int:
    request = TournamentRequest(game="rps", rounds=rounds, seed=5, strategies=FIELD, repetitions=repetitions)
    return create_tournament(db, request)


def _set(db: Database, tournament_id: int, **values: object) -> None:
    with db.sessions.begin() as session:
        session.execute(update(Tournament).where(Tournament.id == tournament_id).values(**values))


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _export(db: Database, tournament_id: int) -> str:
    import io

    out = io.StringIO()
    write_rounds_csv(db, tournament_id, out)
    return out.getvalue()


def test_a_run_takes_the_lease_and_releases_it(db: Database, tmp_path: Path) -> None:
    tournament_id = _create(db)
    seen: list[tuple[str | None, str]] = []

    def during(*_: object) -> None:
        with db.sessions() as session:
            state = tournament_repo.lease_state(session, tournament_id)
        seen.append((state.runner, state.status))

    info = run_tournament(db, tournament_id, workers=1, on_match=during, cache_dir=tmp_path)
    assert info.status == "finished"
    assert info.error is None
    runner = seen[0][0]
    assert runner is not None
    assert runner.startswith(f"{HOST}:")
    assert seen == [(runner, "running")] * 6
    with db.sessions() as session:
        state = tournament_repo.lease_state(session, tournament_id)
    assert (state.runner, state.heartbeat_at) == (None, None)
    assert run_tournament(db, tournament_id, workers=1).status == "finished"  # returns at once


@pytest.mark.parametrize("runner", ["this-process", "other-host"])
def test_a_live_lease_refuses_a_second_runner(db: Database, runner: str) -> None:
    import os

    tournament_id = _create(db)
    holder = f"{HOST}:{os.getpid()}:abcd" if runner == "this-process" else "elsewhere:42:abcd"
    _set(db, tournament_id, status="running", runner=holder, heartbeat_at=utcnow() - timedelta(seconds=3))
    shown = f"{HOST}:{os.getpid()}" if runner == "this-process" else "elsewhere:42"
    expected = rf"^tournament {tournament_id} is being run by {shown} \(heartbeat 3 s ago\)$"
    with pytest.raises(TournamentBusyError, match=expected):
        run_tournament(db, tournament_id, workers=1)
    assert resumable_tournaments(db) == []


@pytest.mark.parametrize("lease", ["dead-pid-here", "stale-heartbeat", "no-runner"])
def test_an_abandoned_lease_is_taken_over(db: Database, lease: str, tmp_path: Path) -> None:
    tournament_id = _create(db)
    reference = _create(db)
    run_tournament(db, reference, workers=1, cache_dir=tmp_path)
    leases: dict[str, dict[str, object]] = {
        "dead-pid-here": {"runner": f"{HOST}:{_dead_pid()}:abcd", "heartbeat_at": utcnow()},
        "stale-heartbeat": {"runner": "elsewhere:42:abcd", "heartbeat_at": utcnow() - timedelta(minutes=5)},
        "no-runner": {"runner": None, "heartbeat_at": None},
    }
    values = leases[lease]
    _set(db, tournament_id, status="running", started_at=utcnow(), **values)
    assert resumable_tournaments(db) == [tournament_id]
    assert run_tournament(db, tournament_id, workers=2, cache_dir=tmp_path).status == "finished"
    assert _strip_ids(_export(db, tournament_id)) == _strip_ids(_export(db, reference))


def _strip_ids(export: str) -> list[str]:
    """Rows without their match id column (two tournaments of one database have different match ids)."""
    return [line.split(",", 1)[1] for line in export.splitlines()]


def test_resumable_tournaments_lists_stale_runs_and_unstarted_ones_oldest_first(db: Database) -> None:
    import os

    never_started, stale, live, finished, failed = (_create(db) for _ in range(5))
    _set(
        db,
        stale,
        status="running",
        started_at=utcnow(),
        runner=f"{HOST}:{_dead_pid()}:x",
        heartbeat_at=utcnow(),
    )
    _set(
        db,
        live,
        status="running",
        started_at=utcnow(),
        runner=f"{HOST}:{os.getpid()}:x",
        heartbeat_at=utcnow(),
    )
    _set(db, finished, status="finished")
    _set(db, failed, status="failed")
    assert resumable_tournaments(db) == [never_started, stale]


def _started_lease(db: Database, tournament_id: int) -> RunLease | None:
    return start_run(db, tournament_id).lease


@pytest.mark.parametrize("claimer", [claim_run, _started_lease], ids=["claim_run", "start_run"])
def test_only_one_of_many_concurrent_claims_wins(
    db_url: str, db: Database, claimer: Callable[[Database, int], RunLease | None]
) -> None:
    tournament_id = _create(db)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def claim() -> None:
        with open_database(db_url) as own:
            barrier.wait()
            try:
                lease = claimer(own, tournament_id)
                outcomes.append("won" if lease is not None else "none")
            except TournamentBusyError:
                outcomes.append("busy")

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["busy", "busy", "busy", "won"]


def test_start_run_claims_and_lists_the_matches_to_play_failed_ones_included(db: Database) -> None:
    tournament_id = _create(db)
    with db.sessions() as session:
        planned = tournament_repo.list_matches(session, tournament_id)
    with db.sessions.begin() as session:
        assert tournament_repo.fail_match(session, planned[2].match_id, "worker process died twice")
    _set(db, tournament_id, status="failed", error="1 match failed")
    started = start_run(db, tournament_id)
    assert started.lease is not None
    assert (started.info.id, started.info.status) == (tournament_id, "failed")  # as read before the claim
    assert [p.name for p in started.info.participants] == list(FIELD)
    assert started.pending == planned  # every match is pending again, in position order
    with db.sessions() as session:
        state = tournament_repo.lease_state(session, tournament_id)
        assert tournament_repo.failed_matches(session, tournament_id) == []
    assert (state.status, state.runner) == ("running", started.lease.runner)
    assert state.started_at == started.lease.started_at
    assert get_tournament(db, tournament_id).error is None


def test_start_run_refuses_a_live_runner_and_writes_nothing(db: Database) -> None:
    import os

    tournament_id = _create(db)
    with db.sessions() as session:
        failed = tournament_repo.list_matches(session, tournament_id)[0].match_id
    with db.sessions.begin() as session:
        assert tournament_repo.fail_match(session, failed, "worker process died twice")
    holder, beat = f"{HOST}:{os.getpid()}:abcd", utcnow() - timedelta(seconds=1)
    _set(db, tournament_id, status="running", runner=holder, heartbeat_at=beat)
    with db.sessions() as session:
        before = tournament_repo.lease_state(session, tournament_id)
    with pytest.raises(TournamentBusyError, match=f"tournament {tournament_id} is being run by"):
        start_run(db, tournament_id)
    with db.sessions() as session:
        assert tournament_repo.lease_state(session, tournament_id) == before
        still_failed = tournament_repo.failed_matches(session, tournament_id)
    assert [match_id for match_id, _ in still_failed] == [failed]


def test_start_run_returns_a_tournament_with_nothing_to_run_as_it_stands(db: Database) -> None:
    finished, orphaned = _create(db), _create(db)
    _set(db, finished, status="finished")
    _set(
        db,
        orphaned,
        status="running",
        runner=f"{HOST}:{_dead_pid()}:x",
        heartbeat_at=utcnow(),
        cancel_requested=True,
    )
    done = start_run(db, finished)
    assert (done.lease, done.info.status, done.pending) == (None, "finished", [])
    cancelled = start_run(db, orphaned)  # the dead run's cancel request is carried out
    assert (cancelled.lease, cancelled.info.status, cancelled.info.error) == (None, "cancelled", "cancelled")
    assert cancelled.info == get_tournament(db, orphaned)
    with pytest.raises(UnknownTournamentError):
        start_run(db, 9999)


def test_finish_counts_the_matches_and_releases_the_lease_in_one_step(db: Database) -> None:
    tournament_id = _create(db)
    lease = start_run(db, tournament_id).lease
    assert lease is not None
    counted: list[tuple[int, int]] = []

    def decide(finished: int, total: int) -> tuple[str, str | None]:
        counted.append((finished, total))
        return "failed", f"{total - finished} matches were not played"

    assert lease.finish(decide) == ("failed", "6 matches were not played", True)
    assert counted == [(0, 6)]
    info = get_tournament(db, tournament_id)
    assert (info.status, info.error) == ("failed", "6 matches were not played")
    assert info.finished_at == lease.released_at
    with db.sessions() as session:
        assert tournament_repo.lease_state(session, tournament_id).runner is None


def test_finish_leaves_a_lease_taken_over_alone(db: Database) -> None:
    tournament_id = _create(db)
    lease = start_run(db, tournament_id).lease
    assert lease is not None
    _set(db, tournament_id, runner="elsewhere:1:new")
    assert lease.finish(lambda finished, total: ("finished", None)) == ("finished", None, False)
    assert lease.released_at is None
    with db.sessions() as session:
        state = tournament_repo.lease_state(session, tournament_id)
    assert (state.status, state.runner) == ("running", "elsewhere:1:new")


def test_renewing_a_lost_lease_tells_the_runner(db: Database) -> None:
    tournament_id = _create(db)
    lease = claim_run(db, tournament_id)
    assert lease is not None
    with db.sessions.begin() as session:
        assert tournament_repo.renew_lease(session, tournament_id, runner=lease.runner, now=utcnow()) is False
    _set(db, tournament_id, cancel_requested=True)
    with db.sessions.begin() as session:
        assert tournament_repo.renew_lease(session, tournament_id, runner=lease.runner, now=utcnow()) is True
    _set(db, tournament_id, runner="elsewhere:1:new")
    with db.sessions.begin() as session:
        assert tournament_repo.renew_lease(session, tournament_id, runner=lease.runner, now=utcnow()) is None
    assert lease.release("finished", None) is False  # the new holder's run is left alone
    assert get_tournament(db, tournament_id).status == "running"


def test_cancel_an_orphaned_or_unstarted_run_directly(db: Database) -> None:
    unstarted, orphaned, finished = _create(db), _create(db), _create(db)
    _set(db, orphaned, status="running", runner=f"{HOST}:{_dead_pid()}:x", heartbeat_at=utcnow())
    _set(db, finished, status="finished")
    assert cancel_tournament(db, unstarted).outcome is CancelOutcome.CANCELLED
    assert cancel_tournament(db, orphaned).outcome is CancelOutcome.CANCELLED
    assert cancel_tournament(db, orphaned).outcome is CancelOutcome.ALREADY
    info = get_tournament(db, orphaned)
    assert (info.status, info.finished_at is not None) == ("cancelled", True)
    with db.sessions() as session:
        assert tournament_repo.lease_state(session, orphaned).runner is None
    with pytest.raises(TournamentStateError, match=f"tournament {finished} is already finished"):
        cancel_tournament(db, finished)
    assert run_tournament(db, unstarted, workers=1).status == "cancelled"  # nothing is played
    with db.sessions() as session:
        assert tournament_repo.match_counts(session, unstarted) == (0, 6)


def test_a_cancel_request_stops_a_live_run_at_a_match_boundary(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs, "HEARTBEAT_INTERVAL_S", BEAT_S)
    tournament_id = _create(db, rounds=3000)
    requested: list[CancelOutcome] = []

    def cancel_after_first(*_: object) -> None:
        if not requested:
            requested.append(cancel_tournament(db, tournament_id).outcome)
            # The heartbeat thread picks the request up; give it ten beats before the next match starts,
            # or a fast machine plays the remaining five matches first.
            time.sleep(10 * BEAT_S)

    info = run_tournament(db, tournament_id, workers=1, on_match=cancel_after_first, cache_dir=tmp_path)
    assert requested == [CancelOutcome.REQUESTED]
    with db.sessions() as session:
        finished, total = tournament_repo.match_counts(session, tournament_id)
    assert info.status == "cancelled"
    assert info.error == f"cancelled after {finished} of {total} matches"
    assert 1 <= finished < total
    assert run_tournament(db, tournament_id, workers=1).status == "cancelled"  # final: nothing more plays
    with db.sessions() as session:
        assert tournament_repo.match_counts(session, tournament_id) == (finished, total)


def test_failed_matches_are_played_again_by_the_next_run(db: Database, tmp_path: Path) -> None:
    tournament_id, reference = _create(db, repetitions=2), _create(db, repetitions=2)
    run_tournament(db, reference, workers=1, cache_dir=tmp_path)
    with db.sessions() as session:
        matches = tournament_repo.list_matches(session, tournament_id)
    pair = (matches[0].version_a_id, matches[0].version_b_id)
    first_pair = [m for m in matches if (m.version_a_id, m.version_b_id) == pair]
    with db.sessions.begin() as session:
        assert tournament_repo.fail_match(session, first_pair[0].match_id, "worker process died twice")
        session.execute(update(Tournament).where(Tournament.id == tournament_id).values(status="failed"))
    assert get_tournament(db, tournament_id).status == "failed"
    info = run_tournament(db, tournament_id, workers=2, cache_dir=tmp_path)
    assert (info.status, info.error) == ("finished", None)
    with db.sessions() as session:
        assert tournament_repo.failed_matches(session, tournament_id) == []
        errors = session.query(Match.error).filter(Match.tournament_id == tournament_id).all()
    assert {error for (error,) in errors} == {None}
    assert _strip_ids(_export(db, tournament_id)) == _strip_ids(_export(db, reference))


def test_a_failure_during_the_run_is_raised_as_itself_and_the_run_can_be_resumed(
    db: Database, tmp_path: Path
) -> None:
    tournament_id = _create(db)

    def explode(*_: object) -> None:
        raise ValueError("disk full")

    with pytest.raises(ValueError, match=r"^disk full$"):
        run_tournament(db, tournament_id, workers=1, on_match=explode, cache_dir=tmp_path)
    info = get_tournament(db, tournament_id)
    assert (info.status, info.error) == ("failed", "disk full")
    assert resumable_tournaments(db) == []  # failed runs wait for a person: `tournament resume`
    assert run_tournament(db, tournament_id, workers=1, cache_dir=tmp_path).status == "finished"


def test_a_run_whose_lease_was_taken_over_stops_and_leaves_the_tournament_alone(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs, "HEARTBEAT_INTERVAL_S", BEAT_S)
    tournament_id = _create(db, rounds=3000)

    taken: list[bool] = []

    def taken_over(*_: object) -> None:
        if not taken:
            taken.append(True)
            _set(db, tournament_id, runner="elsewhere:7:new", heartbeat_at=utcnow())
            time.sleep(10 * BEAT_S)  # ten beats to notice before the next match

    with pytest.raises(LeaseLostError, match="another runner took its lease over"):
        run_tournament(db, tournament_id, workers=1, on_match=taken_over, cache_dir=tmp_path)
    with db.sessions() as session:
        state = tournament_repo.lease_state(session, tournament_id)
        finished, total = tournament_repo.match_counts(session, tournament_id)
    assert (state.status, state.runner) == ("running", "elsewhere:7:new")
    assert finished < total
