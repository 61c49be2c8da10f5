"""Execution backends behind one interface, chosen by an `--executor` spec.

``None`` or ``local``: this machine (in-process with one worker, else local worker processes);
``dask://HOST:PORT``: a Dask distributed scheduler (imported only when asked for).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tournament.orchestration.executors.base import ComponentSource, MatchExecutor, WorkerLostError
from tournament.orchestration.jobs import MatchJob
from tournament.orchestration.match import MatchPlayed
from tournament.sandbox.runtime import SandboxRuntime

if TYPE_CHECKING:
    from tournament.orchestration.executors.pool import WorkerPool

__all__ = [
    "ComponentSource",
    "MatchExecutor",
    "UnknownExecutorError",
    "WorkerLostError",
    "check_executor_spec",
    "open_executor",
    "prestart_local_workers",
]

SCHEMES = ("local", "dask://HOST:PORT")


class UnknownExecutorError(ValueError):
    """An --executor spec that names no backend; the message is one line for users."""


def check_executor_spec(spec: str | None) -> str | None:
    """The Dask scheduler address ('tcp://HOST:PORT') for a dask spec, None for local; raises on others."""
    if spec is None or spec == "local":
        return None
    scheme, separator, address = spec.partition("://")
    if scheme == "dask" and separator and address and "/" not in address:
        host, colon, port = address.rpartition(":")
        if host and colon and port.isdigit():
            return f"tcp://{address}"
    raise UnknownExecutorError(f"unknown executor {spec!r}: use {' or '.join(SCHEMES)}")


def open_executor(
    spec: str | None,
    *,
    workers: int,
    runtime: SandboxRuntime | None,
    cache_dir: Path | None,
    components: ComponentSource,
    pool: WorkerPool | None = None,
    inline: Callable[[MatchJob], MatchPlayed] | None = None,
) -> MatchExecutor:
    """The executor for `spec`; `workers` is the number of local processes or of Dask jobs in flight
    (for Dask, 0 means one per worker thread of the cluster).

    `runtime` plays in-process (one local worker: required then, unused otherwise); `cache_dir` is where
    local workers find compiled components (jobs carry it); `components` serves component bytes by hash
    to remote workers. `pool` (a long-lived host's, see `executors.pool`) lends local workers warm from
    earlier runs and takes them back at `aclose`; an in-process run's `runtime` is then one leased from
    the same pool by the caller (`WorkerPool.lease_runtime`), since the caller also prepares components
    with it. Without a pool every run starts cold. `inline` plays jobs in this process while local workers
    start (see `LocalProcessExecutor`).
    """
    address = check_executor_spec(spec)
    if address is not None:
        from tournament.orchestration.executors.dask import DaskExecutor

        return DaskExecutor(address, components=components, max_in_flight=workers)
    from tournament.orchestration.executors.local import InProcessExecutor, LocalProcessExecutor

    if workers <= 1:
        if runtime is None:
            raise ValueError("an in-process executor needs a sandbox runtime")
        return InProcessExecutor(runtime)
    return LocalProcessExecutor(workers, pool=pool, inline=inline)


def prestart_local_workers() -> None:
    """Get local worker processes ready to start (their zygote, see `executors.local`); call it while this
    process is still single-threaded, before `anyio.run`, so that starting workers costs a fork.

    Best effort: if the zygote cannot start now, the executor tries again when it needs a worker and
    reports the failure there (as a lost worker, which fails only that match).
    """
    from tournament.orchestration.executors.local import prestart_zygote

    with contextlib.suppress(OSError):
        prestart_zygote()
