"""Run leases in the database: claiming a tournament for one runner, keeping it alive, cancelling it.

Every change of hands is a compare-and-set on what was read (see `persistence.tournaments`), so two
processes never play the same tournament at once; a lease whose runner died is taken over (see
`run_lease` for when a lease counts as stale).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import anyio

from tournament.persistence import tournaments as tournament_repo
from tournament.persistence.database import Database
from tournament.persistence.models import utcnow
from tournament.persistence.tournaments import LeaseState
from tournament.services.errors import TournamentBusyError, TournamentStateError
from tournament.services.run_lease import HEARTBEAT_INTERVAL_S, describe_lease, lease_is_live, new_runner

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
        for the thread's news, and raises what made a renewal fail.
        """
        stop = threading.Event()
        failure: list[Exception] = []
        beat = threading.Thread(target=self._beat, args=(stop, failure), name="lease-heartbeat", daemon=True)
        beat.start()
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
        now = utcnow()
        with self.db.sessions.begin() as session:
            released = tournament_repo.release_lease(
                session, self.tournament_id, runner=self.runner, status=status, error=error, now=now
            )
        if released:
            self.released_at = now
        return released


def claim_run(db: Database, tournament_id: int, *, seen: LeaseState | None = None) -> RunLease | None:
    """Take the tournament's run lease and make its failed matches pending again.

    None when there is nothing to run (finished or cancelled; a pending cancel request of a dead run is
    carried out here). TournamentBusyError when a live runner holds the lease. `seen`: the lease as the
    caller has just read it, which saves the first read.
    """
    runner = str(new_runner())
    for _ in range(CLAIM_ATTEMPTS):
        if seen is None:
            with db.sessions() as session:
                seen = tournament_repo.lease_state(session, tournament_id)
        now = utcnow()
        if seen.status not in tournament_repo.RUNNABLE:
            return None
        if seen.runner is not None and lease_is_live(seen.runner, seen.heartbeat_at, now):
            holder = describe_lease(seen.runner, seen.heartbeat_at, now)
            raise TournamentBusyError(f"tournament {tournament_id} is being run by {holder}")
        with db.sessions.begin() as session:
            if seen.cancel_requested:
                tournament_repo.cancel_unleased(session, seen, now=now)
                seen = None
                continue
            if tournament_repo.claim_lease(session, seen, runner=runner, now=now):
                tournament_repo.reset_failed_matches(session, tournament_id)
                return RunLease(db, tournament_id, runner, started_at=seen.started_at or now)
        seen = None
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
