"""The scheduler loop: fire due schedules, play their tournaments in threads, finish interrupted runs.

Time comes from an injected clock and the pause between polls from an injected wait, so tests drive the
loop on a controlled clock. Each run plays in its own thread (``run_tournament`` runs its own anyio event
loop there), so a long tournament never delays another schedule's slot. Several schedulers may share a
database: slots are claimed by compare-and-set and runs by their lease, so nothing starts twice.

While ``serve`` loops, every run borrows from one `WorkerPool`, so a run starts with the sandbox runtimes
and worker processes the previous runs left warm instead of building its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tournament.orchestration.executors.pool import WorkerPool
from tournament.persistence import schedules as schedule_repo
from tournament.persistence.database import Database
from tournament.persistence.models import utcnow
from tournament.persistence.tournaments import TournamentInfo
from tournament.services.errors import TournamentBusyError
from tournament.services.runs import resumable_tournaments
from tournament.services.schedules import Fired, Log, fire_due, recover_claimed
from tournament.services.tournaments import get_tournament, run_tournament

Clock = Callable[[], datetime]
Play = Callable[[Database, int, int | None, str | None], TournamentInfo]
"""Runs (or resumes) one tournament with the given workers and executor; returns its final state."""
FindResumable = Callable[[Database], Sequence[int]]

RESUME_EVERY = timedelta(minutes=1)
"""How often the loop looks for interrupted runs (besides at start)."""
ABANDONED_AFTER = timedelta(minutes=2)
"""A tournament created but never started is picked up only this long after its creation: until then its
creator (`tournament run`, another scheduler) is presumably about to start it."""


def play_tournament(
    db: Database,
    tournament_id: int,
    workers: int | None,
    executor: str | None,
    pool: WorkerPool | None = None,
) -> TournamentInfo:
    """The production runner: ``run_tournament`` under its lease (a resume when matches were played)."""
    return run_tournament(db, tournament_id, workers=workers, executor=executor, pool=pool)


@dataclass
class Scheduler:
    """Fires due schedules of one database; ``serve`` loops until ``stop``, ``tick`` is one pass."""

    db: Database
    log: Log
    clock: Clock = utcnow
    wait: Callable[[float], object] | None = None
    """Pauses between polls (default: until the poll interval passes or ``stop`` is called)."""
    play: Play | None = None
    """Runs one tournament (None: `play_tournament`, with the worker pool of ``serve`` while it loops)."""
    find_resumable: FindResumable = resumable_tournaments
    resume_every: timedelta = RESUME_EVERY
    abandoned_after: timedelta = ABANDONED_AFTER
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _runs: dict[int, threading.Thread] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _next_sweep: datetime | None = field(default=None, init=False)
    _pool: WorkerPool | None = field(default=None, init=False)
    failures: int = field(default=0, init=False)
    """Runs that ended failed or raised, for an exit status."""

    def stop(self) -> None:
        """Stop firing (runs in progress go on; see ``wait_for_runs``)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def running(self) -> list[int]:
        """Ids of the tournaments this scheduler is playing now."""
        with self._lock:
            return sorted(tid for tid, thread in self._runs.items() if thread.is_alive())

    def tick(self) -> list[int]:
        """One pass: on the first, recover slots claimed without a run; look for interrupted runs when due;
        fire due slots; start their runs. Returns the ids of the tournaments started."""
        now = self.clock()
        started: list[int] = []
        first = self._next_sweep is None
        if self._next_sweep is None or now >= self._next_sweep:
            self._next_sweep = now + self.resume_every
            started += self.resume_interrupted(now)
        # Runs created below are started below, never also by the sweep above.
        fired_runs: list[Fired] = recover_claimed(self.db, now, self.log) if first else []
        fired_runs += fire_due(self.db, now, self.log)
        for fired in fired_runs:
            if fired.tournament_id is not None and not self.stopping:
                template = fired.template
                self._start(fired.tournament_id, template.workers, template.executor)
                started.append(fired.tournament_id)
        return started

    def resume_interrupted(self, now: datetime) -> list[int]:
        """Start every run that was interrupted (stale lease) or created but never started (and older than
        ``abandoned_after``)."""
        started = []
        for tournament_id in self.find_resumable(self.db):
            if self.stopping or tournament_id in self.running():
                continue
            info = get_tournament(self.db, tournament_id)
            if (
                info.started_at is None
                and info.status == "pending"
                and info.created_at > now - self.abandoned_after
            ):
                continue
            with self.db.sessions() as session:
                schedule = schedule_repo.schedule_of_tournament(session, tournament_id)
            template = None if schedule is None else schedule.template
            workers = None if template is None else template.get("workers")
            executor = None if template is None else template.get("executor")
            self.log(f"resuming tournament {tournament_id}")
            self._start(tournament_id, workers, executor)
            started.append(tournament_id)
        return started

    def _start(self, tournament_id: int, workers: int | None, executor: str | None) -> None:
        thread = threading.Thread(
            target=self._play, args=(tournament_id, workers, executor), name=f"tournament-{tournament_id}",
            daemon=True,
        )  # fmt: skip
        with self._lock:
            self._runs[tournament_id] = thread
        thread.start()

    def _play(self, tournament_id: int, workers: int | None, executor: str | None) -> None:
        try:
            if self.play is None:
                info = play_tournament(self.db, tournament_id, workers, executor, self._pool)
            else:
                info = self.play(self.db, tournament_id, workers, executor)
        except TournamentBusyError as error:
            self.log(f"skipped tournament {tournament_id}: {error}")
        except Exception as error:
            with self._lock:
                self.failures += 1
            self.log(f"failed tournament {tournament_id}: {str(error) or type(error).__name__}")
        else:
            if info.status == "failed":
                with self._lock:
                    self.failures += 1
            detail = f" ({info.error})" if info.error else ""
            self.log(f"finished tournament {tournament_id}: {info.status}{detail}")
        finally:
            with self._lock:
                self._runs.pop(tournament_id, None)

    def wait_for_runs(self, timeout: float | None = None, *, until_stopped: bool = False) -> list[int]:
        """Wait until the runs in progress end, ``timeout`` seconds pass or (``until_stopped``) ``stop`` is
        called; returns the ids of those still running.

        Joins in short steps so that signal handlers in the main thread keep running meanwhile.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                threads = [t for t in self._runs.values() if t.is_alive()]
            if not threads:
                return []
            if (deadline is not None and time.monotonic() >= deadline) or (until_stopped and self.stopping):
                return self.running()
            threads[0].join(0.2)

    def serve(self, poll: float, *, once: bool = False) -> None:
        """Tick every ``poll`` seconds until ``stop`` (``once``: a single pass, then wait for its runs until
        they end or ``stop`` is called).

        An error in one pass (the database unreachable for a while...) is logged and the next pass tries
        again: a long-running scheduler must outlive one bad moment. The runs started meanwhile share one
        worker pool, closed when the loop ends (runs still going then let their workers go at their end).
        """
        wait = self.wait or self._stop.wait
        with WorkerPool() as pool:
            self._pool = pool
            try:
                while not self.stopping:
                    try:
                        self.tick()
                    except Exception as error:
                        reason = str(error).splitlines()[0] if str(error) else ""
                        self.log(f"error: {type(error).__name__}: {reason}")
                    if once:
                        break
                    wait(poll)
                if once:
                    self.wait_for_runs(until_stopped=True)
            finally:
                self._pool = None
