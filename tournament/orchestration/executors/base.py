"""The one interface every execution backend implements: play a self-contained match job somewhere.

Backends: in this process (one worker), local worker processes (the default), a Dask cluster. Jobs carry
content hashes, never compiled objects; a backend gets component bytes by hash from the coordinator.
Results never depend on the backend: a job's outcome is a pure function of the job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from tournament.orchestration.jobs import MatchJob
from tournament.orchestration.match import MatchPlayed

ComponentSource = Callable[[str], bytes]
"""Component bytes by content hash (sha256 hex), read from the database by the coordinator."""


class WorkerLostError(RuntimeError):
    """The process playing a match died (a wasmtime abort, the OOM killer, kill -9): the engine's fault for
    that one match, never a strategy forfeit and never the end of the tournament."""


class MatchExecutor(Protocol):
    """Plays match jobs concurrently; `slots` jobs may be in flight at once."""

    @property
    def slots(self) -> int: ...

    async def play(self, job: MatchJob) -> MatchPlayed:
        """Play one match; raises WorkerLostError if the process playing it died."""
        ...

    async def aclose(self) -> None:
        """Release workers and connections; the executor is not used afterwards."""
        ...


class JobFeed(Protocol):
    """Where a streaming executor takes jobs from and reports how each ended (see `runner.run_chains`).

    A token stands for one attempt's job; every token taken is handed back exactly once, through `done`,
    `lost` or `unstarted`.
    """

    def take(self, *, retries: bool = True) -> tuple[object, MatchJob] | None:
        """The next job to start and its token; None if none may start now. Without `retries`, only a
        first attempt: a job whose worker died is not played where a second death would take the
        coordinator with it."""
        ...

    def exhausted(self) -> bool:
        """No job will start any more and none is out: a streaming executor's work is over."""
        ...

    def left(self) -> int:
        """Jobs not resolved yet, taken or not: what is left of the run (0 once it stops)."""
        ...

    async def changed(self) -> None:
        """Wait until `take` or `exhausted` may answer otherwise."""
        ...

    async def done(self, token: object, played: MatchPlayed) -> None:
        """The job was played (it may wait for room in the caller's recording queue)."""
        ...

    def lost(self, token: object, error: WorkerLostError) -> None:
        """The worker died while it played this job."""
        ...

    def unstarted(self, token: object) -> None:
        """The job was sent to a worker that died before reading it: it was never played."""
        ...


@runtime_checkable
class StreamingExecutor(MatchExecutor, Protocol):
    """An executor that can also take its jobs from a feed, without a task and a round of awaits per job
    (what local worker processes do: at a few hundred microseconds a job, dispatch otherwise takes a
    third of a core from the workers on a 2-core machine)."""

    async def stream(self, feed: JobFeed) -> None:
        """Play the feed's jobs until it is exhausted; raises what a job's target raised."""
        ...
