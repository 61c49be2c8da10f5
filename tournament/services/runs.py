"""Run leases in the database: claiming a tournament for one runner, keeping it alive, cancelling it.

Every change of hands is a compare-and-set on what was read (see `persistence.tournaments`), so two
processes never play the same tournament at once; a lease whose runner died is taken over (see
`run_lease` for when a lease counts as stale).
"""

from __future__ import annotations

import _thread
import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import anyio
from sqlalchemy import Connection

from tournament.persistence import tournaments as tournament_repo
from tournament.persistence.database import Database
from tournament.persistence.models import utcnow
from tournament.persistence.tournaments import LeaseState, MatchInfo, TournamentInfo
from tournament.services.errors import TournamentBusyError, TournamentStateError
from tournament.services.run_lease import HEARTBEAT_INTERVAL_S, describe_lease, lease_is_live, new_runner

_T = TypeVar("_T")

CLAIM_ATTEMPTS = 5
"""Compare-and-set attempts before giving up on a lease that keeps changing hands."""
WATCH_INTERVAL_S = 0.1
"""How often the event loop looks for news from the heartbeat thread (a lost lease, a failed renewal)."""


@dataclass
class RunLease:
    """The lease this process holds on one tournament while it plays its matches."""

    db: Database
    tournament_id: int
    runner: str
    cancel_requested: bool = False
    """Set by the heartbeat when `tournament cancel` asked this run to stop."""
    lost: bool = False
    """Set when another runner took the lease over: this run must stop and leave the tournament alone."""
    started_at: datetime | None = None
    """The tournament's `started_at` once claimed (this claim's time on its first start)."""
    released_at: datetime | None = None
    """When `release` recorded the final status, if it did (the tournament's `finished_at`)."""

    async def keep_alive(self, on_lost: Callable[[], None]) -> None:
        """Renew the heartbeat every few seconds and pick up cancel requests, until cancelled; call
        `on_lost` (on the event loop) when the lease was taken over.

        The renewals run in a thread of their own, so that the lease stays alive while the event loop is
        busy: an in-process match plays on it, for as long as the match takes. This task only watches
        for the thread's news, and raises what made a renewal fail. The thread is started without
        waiting for it to run (`threading.Thread.start` waits until the new thread is scheduled: when
        the workers keep both cores busy that was milliseconds on every run's critical path); nothing
        joins it, like a daemon thread.
        """
        stop = threading.Event()
        failure: list[Exception] = []
        _thread.start_new_thread(self._beat, (stop, failure))
        try:
            while not (self.lost or failure):
                await anyio.sleep(min(HEARTBEAT_INTERVAL_S, WATCH_INTERVAL_S))
        finally:
            stop.set()
        if failure:
            raise failure[0]
        on_lost()

    def _beat(self, stop: threading.Event, failure: list[Exception]) -> None:
        try:
            while not stop.wait(HEARTBEAT_INTERVAL_S):
                with self.db.sessions.begin() as session:
                    cancel = tournament_repo.renew_lease(
                        session, self.tournament_id, runner=self.runner, now=utcnow()
                    )
                if cancel is None:
                    self.lost = True
                    return
                self.cancel_requested = self.cancel_requested or cancel
        except Exception as error:
            failure.append(error)

    def release(self, status: str, error: str | None) -> bool:
        """Record the run's final status and drop the lease (a no-op if the lease was lost)."""
        with self.db.engine.begin() as connection:
            return self._release(connection, status, error)

    def finish(self, decide: Callable[[int, int], tuple[str, str | None]]) -> tuple[str, str | None, bool]:
        """End the run: 'finished' if every match of the tournament is, else the status `decide` makes
        of the (finished, total) match counts; `release` with it. Returns (status, error, whether
        released).

        One connection and one commit for what ends every run, on its critical path, and one statement
        when all went well. The matches are all recorded by then (or never will be by this run), so
        deciding in the transaction that releases changes nothing.
        """
        with self.db.engine.begin() as connection:
            now, runner = utcnow(), self.runner
            if tournament_repo.release_if_finished(connection, self.tournament_id, runner=runner, now=now):
                self.released_at = now
                return "finished", None, True
            finished, total = tournament_repo.match_counts(connection, self.tournament_id)
            status, error = decide(finished, total)
            return status, error, self._release(connection, status, error)

    def _release(self, connection: Connection, status: str, error: str | None) -> bool:
        now = utcnow()
        released = tournament_repo.release_lease(
            connection, self.tournament_id, runner=self.runner, status=status, error=error, now=now
        )
        if released:
            self.released_at = now
        return released


def claim_run(db: Database, tournament_id: int) -> RunLease | None:
    """Take the tournament's run lease and make its failed matches pending again.

    None when there is nothing to run (finished or cancelled; a pending cancel request of a dead run is
    carried out here). TournamentBusyError when a live runner holds the lease.
    """
    with db.engine.begin() as connection:

        def read() -> tuple[None, LeaseState]:
            return None, tournament_repo.lease_state(connection, tournament_id)

        _, lease = _take_lease(db, connection, tournament_id, read)
        if lease is not None:
            tournament_repo.reset_failed_matches(connection, tournament_id)
    return lease


@dataclass(frozen=True, slots=True)
class StartedRun:
    """What starting a run read and claimed (see `start_run`)."""

    info: TournamentInfo
    """The tournament as read before the claim; the tournament as it stands when `lease` is None."""
    lease: RunLease | None
    """None: there is nothing to run."""
    pending: list[MatchInfo] = field(default_factory=list)
    """The matches to play, by position (failed ones made pending again)."""


def start_run(db: Database, tournament_id: int) -> StartedRun:
    """`claim_run` that also reads the tournament and the matches to play, in the claim's transaction.

    Everything a run does before its first match is sent to a worker, in one connection and one commit
    (each session or connection checkout costs more than the SQL it runs). UnknownTournamentError if
    there is no such tournament.
    """
    with db.engine.begin() as connection:
        info, lease = _take_lease(
            db, connection, tournament_id, lambda: tournament_repo.run_state(connection, tournament_id)
        )
        if lease is None:
            return StartedRun(info, None)
        return StartedRun(info, lease, tournament_repo.matches_to_play(connection, info))


def _take_lease(
    db: Database, connection: Connection, tournament_id: int, read: Callable[[], tuple[_T, LeaseState]]
) -> tuple[_T, RunLease | None]:
    """The compare-and-set loop of `claim_run` in the caller's transaction: `read` returns what the
    caller wants read with the lease, and is called again after every lost compare-and-set.

    Reads and compare-and-sets share the transaction safely: a compare-and-set that finds the row
    changed writes nothing, and the next read sees the change (PostgreSQL reads committed rows at each
    statement; a SQLite connection reads outside a transaction until its first write, and holds the
    write lock after it).
    """
    runner = str(new_runner())
    for _ in range(CLAIM_ATTEMPTS):
        value, seen = read()
        now = utcnow()
        if seen.status not in tournament_repo.RUNNABLE:
            return value, None
        if seen.runner is not None and lease_is_live(seen.runner, seen.heartbeat_at, now):
            holder = describe_lease(seen.runner, seen.heartbeat_at, now)
            raise TournamentBusyError(f"tournament {tournament_id} is being run by {holder}")
        if seen.cancel_requested:
            tournament_repo.cancel_unleased(connection, seen, now=now)
        elif tournament_repo.claim_lease(connection, seen, runner=runner, now=now):
            return value, RunLease(db, tournament_id, runner, started_at=seen.started_at or now)
    raise TournamentBusyError(f"tournament {tournament_id}: its run lease keeps changing hands; try again")


class CancelOutcome(enum.StrEnum):
    CANCELLED = "cancelled"
    """Nobody was running it: it is cancelled now."""
    REQUESTED = "requested"
    """A live runner holds it: the runner stops at its next match boundary and marks it cancelled."""
    ALREADY = "already-cancelled"


@dataclass(frozen=True, slots=True)
class CancelResult:
    outcome: CancelOutcome
    runner: str | None = None
    """Who is running it (``host:pid (heartbeat 1 s ago)``) when the cancel was only requested."""


def cancel_tournament(db: Database, tournament_id: int) -> CancelResult:
    """Stop a tournament: directly when no live runner holds it, else by asking its runner.

    TournamentStateError for a finished tournament (there is nothing left to stop).
    """
    for _ in range(CLAIM_ATTEMPTS):
        with db.sessions() as session:
            seen = tournament_repo.lease_state(session, tournament_id)
        now = utcnow()
        if seen.status == "cancelled":
            return CancelResult(CancelOutcome.ALREADY)
        if seen.status == "finished":
            raise TournamentStateError(f"tournament {tournament_id} is already finished")
        live = seen.runner is not None and lease_is_live(seen.runner, seen.heartbeat_at, now)
        with db.sessions.begin() as session:
            if live and seen.runner is not None:
                if tournament_repo.request_cancel(session, tournament_id):
                    return CancelResult(
                        CancelOutcome.REQUESTED, describe_lease(seen.runner, seen.heartbeat_at, now)
                    )
            elif tournament_repo.cancel_unleased(session, seen, now=now):
                return CancelResult(CancelOutcome.CANCELLED)
    raise TournamentBusyError(f"tournament {tournament_id}: its run lease keeps changing hands; try again")


def resumable_tournaments(db: Database) -> list[int]:
    """Ids of runs to pick up, oldest first: running with a stale lease, or pending and never started.

    A tournament another process has just created and is about to run is listed too; running it then
    raises TournamentBusyError for one of the two, which callers skip.
    """
    now = utcnow()
    with db.sessions() as session:
        states = tournament_repo.lease_states(session, ("pending", "running"))
    return [
        state.tournament_id
        for state in states
        if (state.status == "running" and not lease_is_live(state.runner, state.heartbeat_at, now))
        or (state.status == "pending" and state.started_at is None and state.runner is None)
    ]


def live_runner(db: Database, tournament_id: int) -> str | None:
    """``host:pid (heartbeat 3 s ago)`` of a live runner holding the tournament, else None."""
    with db.sessions() as session:
        seen = tournament_repo.lease_state(session, tournament_id)
    now = utcnow()
    if seen.runner is None or not lease_is_live(seen.runner, seen.heartbeat_at, now):
        return None
    return describe_lease(seen.runner, seen.heartbeat_at, now)
