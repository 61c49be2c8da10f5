"""Warm sandbox runtimes and worker processes kept across the runs of a long-lived host.

A run started cold pays for its sandbox before its first result: a fresh runtime (its engine and epoch
ticker), every component loaded and checked, the first instance of each and its argument templates; a
forked worker pays the same before its first result. Against a ~60 ms benchmark run that is a large
share. A host that plays run after run (the scheduler daemon, a benchmark) passes one `WorkerPool` to
every run, and each run starts with what the previous ones left warm:

- in-process runtimes, keyed by (stack size, cache dir), each leased to one run at a time (a second
  concurrent run gets another one) and returned, not closed, at the end of the run;
- idle local worker processes, which keep their own runtime and loaded components across jobs (see
  `jobs.execute_in_worker`); `LocalProcessExecutor` takes them before forking and hands its idle,
  healthy ones back at `aclose`.

Runs play in threads, each with its own anyio event loop, so the pool is guarded by a plain lock and
holds only loop-independent state (`IdleWorker`). A runtime or worker is retired after `max_runs` runs,
which bounds what it accumulates (every component it ever loaded stays loaded). The pool is passed in,
never global: without one, a run starts cold and lets everything go at its end, as a one-shot
`tournament run` should.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

from tournament.orchestration.executors.local import IdleWorker
from tournament.sandbox.runtime import SandboxRuntime

MAX_RUNS = 100
"""Runs a pooled runtime or worker serves before it is retired (closed, or let go)."""

_RuntimeKey = tuple[int, Path | None]


class WorkerPool:
    """Warm runtimes and idle worker processes shared by the runs of one host; thread-safe.

    `max_idle_workers` (default: one per core) caps the worker processes kept idle, and
    `max_idle_runtimes` (default: one per core) the runtimes: beyond that, what a run returns is let go.
    Closing the pool lets every idle worker go and closes every idle runtime; what runs still hold is let
    go when they return it.
    """

    def __init__(
        self,
        *,
        max_idle_workers: int | None = None,
        max_idle_runtimes: int | None = None,
        max_runs: int = MAX_RUNS,
    ) -> None:
        cores = os.cpu_count() or 1
        self.max_idle_workers = cores if max_idle_workers is None else max_idle_workers
        self.max_idle_runtimes = cores if max_idle_runtimes is None else max_idle_runtimes
        self.max_runs = max_runs
        self._lock = threading.Lock()
        self._closed = False
        self._runtimes: dict[_RuntimeKey, list[tuple[SandboxRuntime, int]]] = {}
        """Idle runtimes and the runs each has served, the most recently returned last."""
        self._leased: dict[int, tuple[SandboxRuntime, _RuntimeKey, int]] = {}
        """Runtimes held by runs, by id: each with its key and the runs it served before."""
        self._workers: list[IdleWorker] = []
        """Idle worker processes, the most recently returned last."""

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def lease_runtime(self, stack_bytes: int, cache_dir: Path | None) -> SandboxRuntime:
        """A runtime for one run, exclusively until `return_runtime`: an idle one, else a new one."""
        key = (stack_bytes, cache_dir)
        warm: SandboxRuntime | None = None
        with self._lock:
            if idle := self._runtimes.get(key):
                warm, runs = idle.pop()
                self._leased[id(warm)] = (warm, key, runs)
        if warm is not None:
            warm.ticker.start()
            return warm
        runtime = SandboxRuntime(stack_bytes, cache_dir)  # ~5 ms: not under the lock
        with self._lock:
            self._leased[id(runtime)] = (runtime, key, 0)
        return runtime

    def return_runtime(self, runtime: SandboxRuntime) -> None:
        """Take back a leased runtime; it is closed instead if the pool is closed or full, or it is due
        for retirement. An idle runtime's epoch ticker rests (it would wake 100 times a second)."""
        runtime.ticker.stop()
        with self._lock:
            runtime, key, runs = self._leased.pop(id(runtime))
            idle = sum(map(len, self._runtimes.values()))
            keep = not self._closed and runs + 1 < self.max_runs and idle < self.max_idle_runtimes
            if keep:
                self._runtimes.setdefault(key, []).append((runtime, runs + 1))
        if not keep:
            runtime.close()

    def take_worker(self, kind: bytes) -> IdleWorker | None:
        """An idle worker of this kind (see `local.worker_kind`) that is still alive, or None; workers
        found dead (killed while idle) are let go on the way."""
        while True:
            with self._lock:
                index = next(
                    (i for i in range(len(self._workers) - 1, -1, -1) if self._workers[i].kind == kind), None
                )
                if index is None:
                    return None
                worker = self._workers.pop(index)
            if worker.poll():
                return worker
            worker.leave()

    def keep_worker(self, worker: IdleWorker) -> None:
        """Take over an idle worker at the end of a run; it is let go instead if the pool is closed or
        full, or it is due for retirement."""
        with self._lock:
            room = len(self._workers) < self.max_idle_workers
            keep = not self._closed and worker.runs < self.max_runs and room
            if keep:
                self._workers.append(worker)
        if not keep:
            worker.leave()

    def idle_worker_pids(self) -> list[int]:
        """Process ids of the idle workers (for monitoring and tests)."""
        with self._lock:
            workers = list(self._workers)
        return [pid for worker in workers if (pid := worker.pid) is not None]

    def idle_runtimes(self) -> list[SandboxRuntime]:
        """The runtimes no run holds now (for monitoring and tests)."""
        with self._lock:
            return [runtime for idle in self._runtimes.values() for runtime, _ in idle]

    def close(self) -> None:
        """Let the idle workers go and close the idle runtimes; later returns are let go too."""
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
            runtimes = [runtime for idle in self._runtimes.values() for runtime, _ in idle]
            self._runtimes.clear()
        for worker in workers:
            worker.leave()
        for runtime in runtimes:
            runtime.close()
