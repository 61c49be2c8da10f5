"""The Dask distributed backend: plays match jobs on a Dask cluster, across machines if need be.

Workers load components by content hash and never receive compiled objects. The coordinator ships each
component's bytes to the cluster once, as a task keyed `component-<sha256>` whose result is the bytes: the
scheduler keeps that task, so a worker that dies holding the bytes costs a recomputation elsewhere, not the
tournament (scattered data would be lost with it). A match task depends on the components it needs; the
worker verifies the bytes against their hash, compiles each component once per engine setting into its
process's runtime (and its own on-disk artifact cache) and plays the match with `jobs.execute`, the code
every backend runs, so results are identical to the local backend's.
"""

from __future__ import annotations

import functools
import threading
import uuid
import warnings
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from tournament import ENGINE_VERSION
from tournament.orchestration.executors.base import ComponentSource, WorkerLostError
from tournament.orchestration.jobs import MatchJob, execute
from tournament.orchestration.match import MatchPlayed
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.engine import EngineSettings
from tournament.sandbox.errors import SandboxError
from tournament.sandbox.runtime import SandboxRuntime

if TYPE_CHECKING:
    from distributed import Client, Future, KilledWorker

RESUBMISSIONS = 2
"""How often a match whose task the cluster cancelled (scheduler restart, lost data) is submitted again."""


class ClusterError(OSError):
    """The Dask cluster cannot be used: `distributed` is missing, the scheduler is unreachable or it lost a
    match more than RESUBMISSIONS times. The run stops (recorded matches are kept) and can be resumed."""


class ComponentIntegrityError(SandboxError, ValueError):
    """A worker received bytes that do not hash to the digest the job names: they are never compiled."""


class EngineMismatchError(SandboxError):
    """A worker runs another engine version or wasmtime than the coordinator: its results could differ."""


@functools.cache
def engine_identity(stack_bytes: int) -> str:
    """What must match between coordinator and workers for identical results: engine and wasmtime builds."""
    return f"tournament {ENGINE_VERSION}, engine {EngineSettings(stack_bytes=stack_bytes).fingerprint}"


class DaskExecutor:
    """Plays match jobs on the Dask cluster whose scheduler listens at `address` (`tcp://HOST:PORT`).

    `max_in_flight` caps the jobs submitted at once (0 or less: the cluster's worker threads at connect
    time). With `distributed.comm.require-encryption` and the TLS files set in the Dask configuration, the
    scheduler is reached over TLS. Connecting waits `connect_timeout` seconds, by default Dask's
    `distributed.comm.timeouts.connect` (30 s; `DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=5s` changes it).
    A match whose worker died on every attempt the scheduler allows (`distributed.scheduler.allowed-failures`)
    raises WorkerLostError.
    """

    def __init__(
        self,
        address: str,
        *,
        components: ComponentSource,
        max_in_flight: int,
        connect_timeout: float | None = None,
    ) -> None:
        try:
            from distributed import Client
            from distributed.security import Security
        except ImportError:
            raise ClusterError(
                "the Dask backend needs the `dask` extra: pip install 'wasm-tournament[dask]'"
            ) from None
        security = Security()  # type: ignore[no-untyped-call]
        if security.require_encryption and address.startswith("tcp://"):
            address = "tls://" + address.removeprefix("tcp://")
        self._address = address
        self._components = components
        try:
            self._client: Client = Client(  # type: ignore[no-untyped-call]
                address,
                security=security,
                set_as_default=False,
                **({} if connect_timeout is None else {"timeout": connect_timeout}),
            )
        except (OSError, TimeoutError) as error:
            raise ClusterError(f"cannot reach the Dask scheduler at {address}: {error}") from None
        threads = sum(self._client.nthreads().values())  # type: ignore[no-untyped-call]
        self._slots = max_in_flight if max_in_flight > 0 else max(1, threads)
        self._shipped: dict[str, Future[bytes]] = {}
        self._limiters: tuple[anyio.CapacityLimiter, anyio.CapacityLimiter] | None = None

    @property
    def slots(self) -> int:
        return self._slots

    @property
    def client(self) -> Client:
        """The connected client (for diagnostics: dashboard link, worker list)."""
        return self._client

    async def play(self, job: MatchJob) -> MatchPlayed:
        """Submit the match to the cluster and wait for it without holding the event loop."""
        from distributed import KilledWorker
        from distributed.client import FutureCancelledError

        jobs, waiters = self._limiters_for_loop()
        async with jobs:
            for attempt in range(RESUBMISSIONS + 1):
                future = self._submit(job)
                try:
                    return await anyio.to_thread.run_sync(
                        _wait, future, abandon_on_cancel=True, limiter=waiters
                    )
                except KilledWorker as error:
                    raise WorkerLostError(_describe_killed(error)) from None
                except FutureCancelledError as error:
                    if self._client.status != "running" or attempt == RESUBMISSIONS:
                        raise ClusterError(
                            f"match {job.match_id} was lost by the Dask cluster: {error}"
                        ) from None
                    self._forget_unhealthy_components()
                finally:
                    if not future.done():  # type: ignore[no-untyped-call]
                        future.cancel()  # type: ignore[no-untyped-call]
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def aclose(self) -> None:
        """Release the shipped components and disconnect (the cluster itself keeps running)."""
        self._shipped.clear()
        await anyio.to_thread.run_sync(self._client.close)

    def _limiters_for_loop(self) -> tuple[anyio.CapacityLimiter, anyio.CapacityLimiter]:
        """Jobs in flight, and the threads waiting on them (created inside the event loop that uses them)."""
        if self._limiters is None:
            self._limiters = (anyio.CapacityLimiter(self._slots), anyio.CapacityLimiter(self._slots))
        return self._limiters

    def _submit(self, job: MatchJob) -> Future[MatchPlayed]:
        data_a = self._component(job.a.digest) if job.a.rejected is None else None
        data_b = self._component(job.b.digest) if job.b.rejected is None else None
        engine = engine_identity(job.limits.stack_bytes)
        return self._client.submit(
            play_on_worker,
            job,
            engine,
            data_a,
            data_b,
            key=f"match-{job.match_id}-{uuid.uuid4().hex}",
            pure=False,
        )

    def _component(self, digest: str) -> Future[bytes]:
        """The cluster's copy of a component, shipped on first use: a task keyed by its content hash."""
        future = self._shipped.get(digest)
        if future is None:
            data = self._components(digest)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
                future = self._client.submit(_component_bytes, data, key=f"component-{digest}", pure=False)
            self._shipped[digest] = future
        return future

    def _forget_unhealthy_components(self) -> None:
        for digest, future in list(self._shipped.items()):
            if future.status in {"cancelled", "lost", "error"}:
                del self._shipped[digest]


def _describe_killed(error: KilledWorker) -> str:
    """One line instead of KilledWorker's paragraph: how many workers died and where to look."""
    worker = getattr(error.last_worker, "address", error.last_worker)
    tries = error.allowed_failures + 1
    return f"Dask worker {worker} died ({tries} worker{'s' if tries > 1 else ''} tried; see its log)"


def _wait(future: Future[MatchPlayed]) -> MatchPlayed:
    return future.result()


def _component_bytes(data: bytes) -> bytes:
    """A component's bytes as a task result: the scheduler can recompute it if its worker dies."""
    return data


_runtimes: dict[int, tuple[SandboxRuntime, threading.Lock]] = {}
"""This worker process's runtimes, one per engine setting (stack size), each with the lock that lets one
match at a time use it. The only process-wide state, by necessity: compiled components live here."""

_runtimes_lock = threading.Lock()


def play_on_worker(job: MatchJob, engine: str, data_a: bytes | None, data_b: bytes | None) -> MatchPlayed:
    """The task a Dask worker runs: check the engine and the bytes, compile once, play the match."""
    stack_bytes = job.limits.stack_bytes
    if engine != engine_identity(stack_bytes):
        raise EngineMismatchError(
            f"this worker runs {engine_identity(stack_bytes)} but the coordinator runs {engine}: "
            "install the same version on every machine"
        )
    runtime, lock = _worker_runtime(stack_bytes)
    with lock:
        for seat, data in ((job.a, data_a), (job.b, data_b)):
            if seat.rejected is None:
                load_component(runtime, seat.digest, data)
        return execute(job, runtime)


def _worker_runtime(stack_bytes: int) -> tuple[SandboxRuntime, threading.Lock]:
    with _runtimes_lock:
        entry = _runtimes.get(stack_bytes)
        if entry is None:
            entry = _runtimes[stack_bytes] = (SandboxRuntime(stack_bytes), threading.Lock())
        return entry


def load_component(runtime: SandboxRuntime, digest: str, data: bytes | None) -> None:
    """Make a component available to `runtime`: from memory, the local artifact cache, or verified bytes.

    Raises ComponentIntegrityError for bytes that do not hash to `digest`, and BadComponentError if they
    do not compile (the coordinator compiled them with the same engine, so that is an engine failure).
    """
    if runtime.cache.load(digest) is not None:
        return
    if data is None:
        raise ComponentIntegrityError(f"component {digest[:12]} was not shipped with the job")
    actual = content_hash(data)
    if actual != digest:
        raise ComponentIntegrityError(
            f"refusing component bytes: they hash to {actual[:12]}, the job names {digest[:12]}"
        )
    runtime.cache.get(data, digest)


def worker_statistics() -> dict[str, int]:
    """How this worker process got its components (run it on the workers with `Client.run`): compiled
    from shipped bytes, or loaded from its on-disk artifact cache. Each happens at most once per
    component and engine setting."""
    with _runtimes_lock:
        caches = [runtime.cache for runtime, _ in _runtimes.values()]
    return {
        "runtimes": len(caches),
        "compiled": sum(cache.compiled for cache in caches),
        "loaded_from_disk": sum(cache.loaded_from_disk for cache in caches),
    }
