"""Executors on this machine: in this process (one worker), or a pool of local worker processes.

The pool is ours rather than `anyio.to_process` or `concurrent.futures` because a worker that dies (a
wasmtime abort, the OOM killer, kill -9) must cost only the match it was playing, and the match's error
should say how it died: a dead worker is dropped, its exit status reported in `WorkerLostError`, and the
next job starts a fresh process. Workers keep their sandbox runtime and compiled components across jobs.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import cast

import anyio
import anyio.abc
import anyio.to_thread
from anyio.streams.buffered import BufferedByteReceiveStream

from tournament.orchestration.executors import process_worker
from tournament.orchestration.executors.base import WorkerLostError
from tournament.orchestration.jobs import MatchJob, execute, execute_in_worker
from tournament.orchestration.match import MatchPlayed
from tournament.sandbox.runtime import SandboxRuntime

JobFunction = Callable[[MatchJob], MatchPlayed]
SHUTDOWN_GRACE_S = 5.0
"""How long an idle worker gets to exit after its stdin closes before it is killed."""


class InProcessExecutor:
    """Plays one match at a time in a thread of this process, with the coordinator's runtime."""

    def __init__(self, runtime: SandboxRuntime) -> None:
        self._runtime = runtime
        self._limiter = anyio.CapacityLimiter(1)

    @property
    def slots(self) -> int:
        return 1

    async def play(self, job: MatchJob) -> MatchPlayed:
        return await anyio.to_thread.run_sync(execute, job, self._runtime, limiter=self._limiter)

    async def aclose(self) -> None:
        return None


def describe_exit(returncode: int | None) -> str:
    """'signal 6, SIGABRT' or 'exit status 3': how a worker process ended."""
    if returncode is None:
        return "unknown exit status"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
        return f"signal {-returncode}, {name}"
    return f"exit status {returncode}"


class _Worker:
    """One worker process and the two pipes of its protocol."""

    def __init__(self, process: anyio.abc.Process) -> None:
        self.process = process
        self._requests = cast(anyio.abc.ByteSendStream, process.stdin)
        self._replies = BufferedByteReceiveStream(cast(anyio.abc.ByteReceiveStream, process.stdout))

    @classmethod
    async def start(cls, target: JobFunction) -> _Worker:
        process = await anyio.open_process(
            [sys.executable, "-u", "-m", process_worker.__name__, str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        worker = cls(process)
        try:
            await worker._send(list(sys.path))
            await worker._send(target)
        except (anyio.BrokenResourceError, OSError):
            with anyio.CancelScope(shield=True):
                returncode = await worker._reap()
            raise WorkerLostError(describe_exit(returncode)) from None
        except BaseException:
            await worker.kill()
            raise
        return worker

    async def _send(self, value: object) -> None:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        await self._requests.send(process_worker.HEADER.pack(len(data)) + data)

    async def call(self, job: MatchJob) -> MatchPlayed:
        """Play one job; WorkerLostError if the process died before answering."""
        try:
            await self._send(job)
            header = await self._replies.receive_exactly(process_worker.HEADER.size)
            (length,) = process_worker.HEADER.unpack(header)
            ok, value = pickle.loads(await self._replies.receive_exactly(length))
        except (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError, OSError):
            with anyio.CancelScope(shield=True):
                returncode = await self._reap()
            raise WorkerLostError(describe_exit(returncode)) from None
        if not ok:
            raise value
        return cast(MatchPlayed, value)

    async def _reap(self) -> int | None:
        with anyio.move_on_after(SHUTDOWN_GRACE_S):
            return await self.process.wait()
        await self.kill()
        return self.process.returncode

    async def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        with anyio.CancelScope(shield=True):
            await self.process.aclose()

    async def stop(self) -> None:
        """Close stdin (the worker exits on EOF); kill it if it does not go in time."""
        with contextlib.suppress(anyio.BrokenResourceError, OSError):
            await self._requests.aclose()
        with anyio.CancelScope(shield=True):
            await self._reap()
            await self.kill()


class LocalProcessExecutor:
    """A pool of `workers` local processes, started on demand and reused across matches.

    A worker that dies fails only the job it was playing (WorkerLostError) and is replaced by a fresh
    process for the next job. `target` is the function a worker runs per job (its module must be
    importable by the workers); the default plays the match with the worker's own sandbox runtime.
    """

    def __init__(self, workers: int, *, target: JobFunction = execute_in_worker) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._workers = workers
        self._target = target
        self._limiter = anyio.CapacityLimiter(workers)
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self.started = 0
        """Worker processes started so far (a replaced worker counts again)."""

    @property
    def slots(self) -> int:
        return self._workers

    def pids(self) -> list[int]:
        """Process ids of the live workers (for monitoring and tests)."""
        return [worker.process.pid for worker in self._all if worker.process.returncode is None]

    async def play(self, job: MatchJob) -> MatchPlayed:
        async with self._limiter:
            worker = await self._checkout()
            try:
                played = await worker.call(job)
            except WorkerLostError:
                self._all.discard(worker)
                raise
            except BaseException as error:
                if isinstance(error, Exception):
                    self._idle.append(worker)
                else:
                    self._all.discard(worker)
                    await worker.kill()
                raise
            self._idle.append(worker)
            return played

    async def _checkout(self) -> _Worker:
        while self._idle:
            worker = self._idle.pop()
            if worker.process.returncode is None:
                return worker
            self._all.discard(worker)
            await worker.kill()
        worker = await _Worker.start(self._target)
        self._all.add(worker)
        self.started += 1
        return worker

    async def aclose(self) -> None:
        workers, self._idle = list(self._all), []
        self._all.clear()
        with anyio.CancelScope(shield=True):
            async with anyio.create_task_group() as group:
                for worker in workers:
                    group.start_soon(worker.stop)
