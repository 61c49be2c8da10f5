"""The one interface every execution backend implements: play a self-contained match job somewhere.

Backends: in this process (one worker), local worker processes (the default), a Dask cluster. Jobs carry
content hashes, never compiled objects; a backend gets component bytes by hash from the coordinator.
Results never depend on the backend: a job's outcome is a pure function of the job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

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
