"""Executors on this machine: in this process (one worker), or a pool of local worker processes.

The pool is ours rather than `anyio.to_process` or `concurrent.futures` because a worker that dies (a
wasmtime abort, the OOM killer, kill -9) must cost only the match it was playing, and the match's error
should say how it died: a dead worker is dropped, its exit status reported in `WorkerLostError`, and the
next job starts a fresh process. Workers keep their sandbox runtime and compiled components across jobs.

Workers are forked by a zygote (see `process_worker` for why and for its fork-safety rules), so a new
worker costs a fork instead of an interpreter start and the engine's imports; the zygote lives as long as
this process and serves every pool in it.

A long-lived host passes a `WorkerPool` (see `executors.pool`): an executor then takes idle workers from
it before forking and hands its idle ones back at the end of the run, so the next run starts with warm
workers (their runtime built, their components loaded). Each run has its own event loop, so what the pool
keeps of a worker (`IdleWorker`) holds no anyio primitive; a run rebuilds those when it adopts one.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import math
import os
import pickle
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

import anyio
import anyio.lowlevel
import anyio.to_thread

from tournament.orchestration.executors import process_worker
from tournament.orchestration.executors.base import JobFeed, WorkerLostError
from tournament.orchestration.jobs import MatchJob, execute, execute_in_worker
from tournament.orchestration.match import MatchPlayed
from tournament.sandbox.runtime import SandboxRuntime

if TYPE_CHECKING:
    from tournament.orchestration.executors.pool import WorkerPool

JobFunction = Callable[[MatchJob], MatchPlayed]
SHUTDOWN_GRACE_S = 5.0
"""How long an idle worker gets to exit after its request pipe closes before it is killed."""
ZYGOTE_TIMEOUT_S = 30.0
"""How long a fork request may take before the zygote counts as stuck (and is replaced)."""
READ_CHUNK = 1 << 16
PIPELINE_DEPTH = 2
"""Jobs in flight per worker process: the one it plays and the next one, already in its pipe."""
COLD_START_S = 0.05
"""More than a cold worker takes to answer its first job (18-35 ms on a 2-core VM): a run with more
work left per worker than this is worth starting its workers (see `LocalProcessExecutor`'s `inline`)."""


class InProcessExecutor:
    """Plays one match at a time on the event loop's own thread, with the coordinator's runtime.

    Not in a worker thread: handing each match to a thread and its result back costs more than a short
    match itself (each hop waits for the GIL), and a thread playing while the loop records would fight
    it for the GIL on every move call (each releases it). The loop is busy for the whole match, so the
    run's heartbeat renews the lease from a thread of its own (`RunLease.keep_alive`).
    """

    def __init__(self, runtime: SandboxRuntime) -> None:
        self._runtime = runtime

    @property
    def slots(self) -> int:
        return 1

    async def play(self, job: MatchJob) -> MatchPlayed:
        await anyio.lowlevel.checkpoint()  # a cancelled run stops here, before the match starts
        return execute(job, self._runtime)

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


def _single_threaded() -> bool:
    """Whether this process has exactly one OS thread (Linux; elsewhere: not known, so False)."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


_PRELOADED_LAYERS = ("rules", "sandbox", "orchestration", "persistence", "services")
"""The layers whose objects jobs carry or workers use: a zygote started afresh imports what this process
has imported of them (a forked one has it all already). Interfaces (CLI, HTTP, web) never reach workers."""


def _preload() -> list[str]:
    prefixes = tuple(f"tournament.{layer}" for layer in _PRELOADED_LAYERS)
    return sorted(name for name in list(sys.modules) if name.startswith(prefixes))


def _open_files() -> frozenset[tuple[int, int]]:
    """(device, inode) of every regular file this process has open (Linux; elsewhere none are known)."""
    found = set()
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError, ValueError):
                info = os.fstat(int(name))
                if stat.S_ISREG(info.st_mode):
                    found.add((info.st_dev, info.st_ino))
    return frozenset(found)


def workers_may_open(path: Path) -> bool:
    """Whether local worker processes may open the SQLite database at `path` themselves.

    Not if their zygote was forked while this process had the file open: SQLite keeps each open file's
    lock state in process memory (one record per inode, shared by every connection to it), and the fork
    copied that record with descriptors the zygote then closed, so a worker's connection would trust
    locks it does not hold. A zygote started afresh, or forked before the file was opened, is safe.
    Starts the zygote if there is none.
    """
    try:
        info = path.stat()
    except OSError:
        return False
    with contextlib.suppress(OSError):
        _ZYGOTES.prestart()
    handle = _ZYGOTES.handle
    return handle is not None and (info.st_dev, info.st_ino) not in handle.inherited_files


class _ZygoteHandle:
    """The coordinator's end of its zygote (see `process_worker`): one per process, restarted if it died."""

    def __init__(self, control: socket.socket, pid: int, process: subprocess.Popen[bytes] | None) -> None:
        self.control, self.pid, self.process = control, pid, process
        self.forked = process is None
        self.answers = bytearray()
        """The part of the next pid answer read so far."""
        self.inherited_files: frozenset[tuple[int, int]] = frozenset()
        """(device, inode) of the files this process had open when it forked the zygote."""

    @classmethod
    def start(cls) -> _ZygoteHandle:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        ours.settimeout(ZYGOTE_TIMEOUT_S)
        parent = os.getpid()
        try:
            if _single_threaded():
                inherited = _open_files()
                pid = os.fork()
                if pid == 0:
                    process_worker.zygote_main(theirs.fileno(), parent, forked=True)
                handle = cls(ours, pid, None)
                handle.inherited_files = inherited
                return handle
            process = subprocess.Popen(
                [sys.executable, "-u", "-m", process_worker.__name__, "--zygote", str(theirs.fileno()),
                 str(parent), ",".join(_preload())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            return cls(ours, process.pid, process)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()

    def request(self) -> tuple[int, int]:
        """Ask for a worker: (write end of its request pipe, read end of its reply pipe). Its pid comes
        later (`answer`), in the order of the requests; its pipes can be used at once."""
        requests_r, requests_w = os.pipe()
        replies_r, replies_w = os.pipe()
        try:
            socket.send_fds(self.control, [b"S"], [requests_r, replies_w])
        except BaseException:
            os.close(requests_w)
            os.close(replies_r)
            raise
        finally:
            os.close(requests_r)
            os.close(replies_w)
        return requests_w, replies_r

    def answer(self, *, wait: bool) -> int | None:
        """The pid of the oldest worker asked for and not answered yet; None if `wait` is false and it
        has not come. OSError if the zygote is gone or stuck."""
        while len(self.answers) < 8:
            if not wait and not select.select([self.control], [], [], 0)[0]:
                return None  # (not MSG_DONTWAIT: a socket with a timeout would wait for that long)
            chunk = self.control.recv(8 - len(self.answers))
            if not chunk:
                raise ConnectionError("the zygote closed its control socket")
            self.answers += chunk
        (pid,) = struct.unpack(">q", self.answers)
        del self.answers[:]
        return int(pid)

    def close(self) -> None:
        self.control.close()
        with contextlib.suppress(ChildProcessError, ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)


class _Zygotes:
    """This process's zygote, started on first need and replaced when it died, and its workers' CPU."""

    def __init__(self) -> None:
        self.handle: _ZygoteHandle | None = None
        self.worker_cpu = 0.0
        self._lock = threading.Lock()
        self._unanswered: list[_Ticket] = []
        """Workers asked of the current zygote whose pid has not been read yet, oldest first."""
        self._exiting: list[tuple[int, bytearray]] = []
        """Reply pipes of idle workers told to exit, with what was read of them: their exit status frame
        is still to come (see `collect`)."""

    def exiting(self, replies: int, buffer: bytearray) -> None:
        """Take over the reply pipe of an idle worker whose request pipe was just closed."""
        with self._lock:
            self._exiting.append((replies, buffer))

    def collect(self, *, wait: bool) -> None:
        """Read the exit status (CPU seconds) of workers told to exit, and close their reply pipes.

        `wait`: until each has exited (at most `SHUTDOWN_GRACE_S` each), else only what is there. Nothing
        waits for an idle worker's exit at the end of a run (the process's teardown, wasmtime's memory
        reservations included, takes milliseconds); its status is collected later, by the next pool's
        first worker or by `worker_cpu_seconds`.
        """
        with self._lock:
            pending, self._exiting = self._exiting, []
        left = [(fd, buffer) for fd, buffer in pending if not _read_exit(fd, buffer, wait=wait)]
        with self._lock:
            self._exiting.extend(left)

    def prestart(self) -> None:
        with self._lock:
            if self.handle is None:
                self.handle = _ZygoteHandle.start()

    def spawn(self) -> tuple[_Ticket, int, int]:
        """Ask the zygote for a worker without waiting for the fork: (its ticket, the write end of its
        request pipe, the read end of its reply pipe). A zygote that died is replaced (once)."""
        self.collect(wait=False)
        with self._lock:
            self._read_answers(wait=False)
            for attempt in range(2):
                if self.handle is None:
                    self.handle = _ZygoteHandle.start()
                try:
                    requests, replies = self.handle.request()
                except OSError:
                    self._drop_handle()
                    if attempt == 1:
                        raise
                    continue
                ticket = _Ticket()
                self._unanswered.append(ticket)
                return ticket, requests, replies
        raise AssertionError("unreachable")

    def pid(self, ticket: _Ticket) -> int | None:
        """The worker's pid, waiting for the zygote's answer if it has not been read; None if the zygote
        died before answering (the worker's pipes then end: it is lost like a worker that died)."""
        with self._lock:
            while ticket.pid is None and ticket in self._unanswered:
                self._read_answers(wait=True)
        return ticket.pid

    def _read_answers(self, *, wait: bool) -> None:
        """Hand out the pids the zygote has answered (with `wait`: at least the next one). Holds the lock."""
        while self._unanswered and self.handle is not None:
            try:
                pid = self.handle.answer(wait=wait)
            except OSError:
                self._drop_handle()
                return
            if pid is None:
                return
            self._unanswered.pop(0).pid = pid
            wait = False

    def _drop_handle(self) -> None:
        """The zygote is gone or stuck: kill it; workers it had not answered for are lost."""
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        self._unanswered.clear()


def _read_exit(fd: int, buffer: bytearray, *, wait: bool) -> bool:
    """Read an exiting worker's reply pipe up to its end; True (and the pipe closed) once it ended, its
    CPU seconds added to the total. An idle worker has no replies left: its status frame comes next."""
    deadline = time.monotonic() + SHUTDOWN_GRACE_S
    while True:
        if len(buffer) >= process_worker.STATUS.size:
            mark, _, cpu = process_worker.STATUS.unpack_from(buffer)
            if mark == process_worker.STATUS_MARK:
                _ZYGOTES.worker_cpu += cpu
            break
        try:
            chunk = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            remaining = deadline - time.monotonic()
            if not wait or remaining <= 0:
                return False
            select.select([fd], [], [], remaining)
            continue
        except OSError:
            break
        if not chunk:
            break
        buffer += chunk
    os.close(fd)
    return True


class _Ticket:
    """A worker asked of the zygote; `pid` is set once the zygote's answer is read."""

    __slots__ = ("pid",)

    def __init__(self) -> None:
        self.pid: int | None = None


_ZYGOTES = _Zygotes()


def worker_cpu_seconds() -> float:
    """CPU seconds used by this process's worker processes that have exited so far (for benchmarks: the
    workers are the zygote's children, so this process's RUSAGE_CHILDREN does not include them). Waits
    for the workers that pools have told to exit."""
    _ZYGOTES.collect(wait=True)
    return _ZYGOTES.worker_cpu


def zygote_pid() -> int | None:
    """The pid of this process's zygote, if it has one (for monitoring and tests)."""
    handle = _ZYGOTES.handle
    return None if handle is None else handle.pid


def prestart_zygote() -> None:
    """Start this process's zygote now, if it has none: call it while the process is single-threaded
    (before any worker thread or compilation), so the zygote can be forked rather than started afresh."""
    _ZYGOTES.prestart()


def _settings() -> tuple[list[str], dict[str, str], str]:
    """What a new worker is told before its first job (its settings never change afterwards)."""
    return list(sys.path), dict(os.environ), os.getcwd()


def worker_kind(target: JobFunction) -> bytes:
    """Which workers can serve a run started now: those that run `target` with this process's current
    `sys.path`, environment and working directory (a pooled worker keeps those of when it started)."""
    data = pickle.dumps((target, _settings()), protocol=pickle.HIGHEST_PROTOCOL)
    return hashlib.blake2b(data, digest_size=16).digest()


class IdleWorker:
    """An idle worker process between runs: only what outlives a run's event loop (its ticket, its two
    pipes and what was read of its reply pipe); `_Worker.adopt` rebuilds the rest in the next run."""

    __slots__ = ("buffer", "kind", "replies", "requests", "runs", "ticket")

    def __init__(
        self, ticket: _Ticket, requests: int, replies: int, buffer: bytearray, kind: bytes, runs: int
    ) -> None:
        self.ticket, self.requests, self.replies, self.buffer = ticket, requests, replies, buffer
        self.kind = kind
        """`worker_kind` of the settings and job function it was started with."""
        self.runs = runs
        """Runs it has served (a long-lived host retires it after so many: see `WorkerPool`)."""

    @property
    def pid(self) -> int | None:
        return self.ticket.pid if self.ticket.pid is not None else _ZYGOTES.pid(self.ticket)

    def poll(self) -> bool:
        """Whether it is still alive, without waiting: an idle worker's reply pipe is empty until it dies
        (then the zygote's status frame or EOF is there)."""
        try:
            chunk = os.read(self.replies, READ_CHUNK)
        except BlockingIOError:
            return True
        except OSError:
            chunk = b""
        self.buffer += chunk
        return False

    def leave(self) -> None:
        """Close its request pipe (it exits at its end); its exit status is collected later, like that of
        any idle worker let go at the end of a run (`_Zygotes.collect`)."""
        os.close(self.requests)
        _ZYGOTES.exiting(self.replies, self.buffer)


class _NotStartedError(Exception):
    """The worker died before it read this job: the job was never played and goes to another worker."""


class _WorkerGoneError(Exception):
    """The zygote's notice that the worker exited arrived on its reply pipe."""


class _Worker:
    """One worker process (a child of the zygote) and the two pipes of its protocol."""

    def __init__(self, ticket: _Ticket, requests: int, replies: int, kind: bytes, *, runs: int = 0) -> None:
        self._ticket = ticket
        self.kind = kind
        self.runs = runs
        self.returncode: int | None = None
        """The worker's exit code (negative: killed by that signal) once the zygote reported it."""
        self._requests: int | None = requests
        self._replies: int | None = replies
        self._buffer = bytearray()
        self._ended = False
        """No more jobs for this worker: it is gone, or its pipes are out of step (a cancelled call)."""
        self._gone = False
        """The reply pipe reached its end (the status frame or EOF): the process is gone."""
        self.in_flight = 0
        """Jobs sent and not answered yet: the first is being played, the others wait in the pipe."""
        self._sent = 0
        self._answered = 0
        self._turns: dict[int, anyio.Event] = {}
        self._sending = anyio.Lock()
        self._finished: anyio.Event | None = None
        os.set_blocking(requests, False)
        os.set_blocking(replies, False)

    @property
    def alive(self) -> bool:
        return not self._ended

    @property
    def pid(self) -> int | None:
        """The worker's process id (None if its zygote died before forking it)."""
        return self._ticket.pid if self._ticket.pid is not None else _ZYGOTES.pid(self._ticket)

    @classmethod
    async def start(cls, target: JobFunction, kind: bytes) -> _Worker:
        try:
            worker = cls(*_ZYGOTES.spawn(), kind)
        except OSError as error:
            raise WorkerLostError(f"could not start a worker process ({error})") from None
        try:
            await worker._send(_settings())
            await worker._send(target)
        except OSError:
            with anyio.CancelScope(shield=True):
                returncode = await worker._reap()
            raise WorkerLostError(describe_exit(returncode)) from None
        except BaseException:
            await worker.kill()
            raise
        return worker

    @classmethod
    def adopt(cls, idle: IdleWorker) -> _Worker:
        """A pooled worker, for this run's event loop."""
        worker = cls(idle.ticket, idle.requests, idle.replies, idle.kind, runs=idle.runs)
        worker._buffer = idle.buffer
        return worker

    def detach(self) -> IdleWorker:
        """Hand an idle, live worker's process over (to a pool): this object no longer owns its pipes."""
        if self.in_flight or self._ended or self._requests is None or self._replies is None:
            raise RuntimeError("only an idle, live worker can be detached")
        idle = IdleWorker(self._ticket, self._requests, self._replies, self._buffer, self.kind, self.runs + 1)
        self._requests = self._replies = None
        self._buffer = bytearray()
        self._end()
        return idle

    async def _send(self, value: object) -> None:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(process_worker.HEADER.pack(len(data)) + data)
        while view:
            if self._requests is None:
                raise BrokenPipeError("the request pipe is closed")
            try:
                view = view[os.write(self._requests, view) :]
            except BlockingIOError:
                await anyio.wait_writable(self._requests)

    async def _fill(self, size: int) -> None:
        while len(self._buffer) < size:
            if self._replies is None:
                raise EOFError
            try:
                chunk = os.read(self._replies, max(READ_CHUNK, size - len(self._buffer)))
            except BlockingIOError:
                await anyio.wait_readable(self._replies)
                continue
            if not chunk:
                self._gone = True
                raise EOFError
            self._buffer += chunk

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def _receive(self) -> bytes:
        """One reply frame; _WorkerGoneError (with `returncode` set) or EOFError when the worker is gone."""
        await self._fill(process_worker.HEADER.size)
        (length,) = process_worker.HEADER.unpack_from(self._buffer)
        if length == process_worker.STATUS_MARK:
            await self._fill(process_worker.STATUS.size)
            _, self.returncode, cpu = process_worker.STATUS.unpack(self._take(process_worker.STATUS.size))
            _ZYGOTES.worker_cpu += cpu
            self._gone = True
            raise _WorkerGoneError
        await self._fill(process_worker.HEADER.size + length)
        del self._buffer[: process_worker.HEADER.size]
        return self._take(length)

    async def replies(self) -> list[bytes]:
        """The reply frames that have come: the next one (waiting for it), then every further one already
        read; _WorkerGoneError or EOFError when the worker is gone before the first."""
        frames = [await self._receive()]
        while self._holds_reply():
            frames.append(await self._receive())
        return frames

    def _holds_reply(self) -> bool:
        """Whether a whole reply frame (not the zygote's status frame) is already in the buffer."""
        if len(self._buffer) < process_worker.HEADER.size:
            return False
        header = process_worker.HEADER
        length: int = header.unpack_from(self._buffer)[0]
        return length != process_worker.STATUS_MARK and len(self._buffer) >= header.size + length

    async def call(self, job: MatchJob) -> MatchPlayed:
        """Play one job after the jobs sent to this worker before it.

        WorkerLostError if the worker died while this job was its current one; _NotStartedError if it
        died before it could read this job (the job was never played: it belongs on another worker).
        """
        turn = self._sent
        self._sent += 1
        self.in_flight += 1
        try:
            try:
                async with self._sending:
                    await self._send(job)
            except (OSError, anyio.ClosedResourceError):
                self._end()
                raise _NotStartedError from None
            while self._answered < turn and not self._ended:
                await self._turns.setdefault(turn, anyio.Event()).wait()
            if self._ended:
                raise _NotStartedError
            try:
                reply = await self._receive()
            except (_WorkerGoneError, EOFError, OSError, anyio.ClosedResourceError):
                self._end()
                with anyio.CancelScope(shield=True):
                    returncode = await self._reap()
                raise WorkerLostError(describe_exit(returncode)) from None
            self._answered += 1
            if (event := self._turns.get(self._answered)) is not None:
                del self._turns[self._answered]
                event.set()
        except BaseException as error:
            if not isinstance(error, Exception):
                self._end()  # cancelled halfway through the protocol: its pipes are out of step
            raise
        finally:
            self.in_flight -= 1
        ok, value = pickle.loads(reply)
        if not ok:
            raise value
        return cast(MatchPlayed, value)

    def _end(self) -> None:
        """The worker is gone (or unusable): every job still waiting for its turn was never read."""
        self._ended = True
        turns, self._turns = self._turns, {}
        for event in turns.values():
            event.set()

    def poll(self) -> bool:
        """Whether an idle worker is still alive, without waiting (its reply pipe must be empty)."""
        if self._ended or self._replies is None:
            return False
        try:
            chunk = os.read(self._replies, READ_CHUNK)
        except BlockingIOError:
            return True
        if not chunk:
            self._gone = True
        self._buffer += chunk  # only the zygote's status frame can be there: the worker is gone
        self._end()
        return False

    async def _drain(self) -> None:
        """Read (and drop) replies until the worker's end: its exit status or EOF."""
        with contextlib.suppress(_WorkerGoneError, EOFError, OSError, anyio.ClosedResourceError):
            while True:
                await self._receive()

    async def _reap(self) -> int | None:
        """Wait for the worker's end (killing it if it does not end in time) and close its pipes."""
        return await self._finish(kill=False)

    async def kill(self) -> None:
        """Kill the worker; its pipes are closed here unless a job still holds it (that job's reader
        then sees the end and closes them)."""
        self._end()
        if not self._gone:
            self._signal_kill()
        if self.in_flight == 0:
            await self._finish(kill=True)

    def _signal_kill(self) -> None:
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    async def _finish(self, *, kill: bool) -> int | None:
        """Read up to the worker's end, then close its pipes. One task does it (two readers of one pipe
        would collide); a second caller waits for the first."""
        if self._finished is not None:
            with anyio.CancelScope(shield=True):
                await self._finished.wait()
            return self.returncode
        self._finished = anyio.Event()
        try:
            with anyio.CancelScope(shield=True):
                for attempt in range(2):
                    if (kill or attempt) and not self._gone:
                        self._signal_kill()
                    with anyio.move_on_after(SHUTDOWN_GRACE_S):
                        await self._drain()
                    if self._gone:
                        break
                self._close()
        finally:
            self._finished.set()
        return self.returncode

    def _close(self) -> None:
        for fd in (self._requests, self._replies):
            if fd is not None:
                anyio.notify_closing(fd)  # wakes a task waiting on it (ClosedResourceError)
                os.close(fd)
        self._requests = self._replies = None
        self._end()

    def leave(self) -> None:
        """Close an idle worker's request pipe (it exits at its end) without waiting for it to go: its
        reply pipe, where the zygote reports its exit, goes to `_ZYGOTES.collect`."""
        if self._requests is not None:
            os.close(self._requests)
            self._requests = None
        if self._replies is not None:
            _ZYGOTES.exiting(self._replies, self._buffer)
            self._replies = None
        self._end()

    async def stop(self) -> None:
        """Close the request pipe (the worker exits at its end); kill it if it does not go in time."""
        if self._requests is not None:
            anyio.notify_closing(self._requests)
            os.close(self._requests)
            self._requests = None
        await self._reap()


class _StandIn:
    """What `stream` knows while this process plays in its workers' stead (see `inline`)."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._began = time.perf_counter()
        self._answered = 0
        self.relieved = anyio.Event()
        """Set once every worker has answered its first job: this process takes no more jobs."""
        self._decision: bool | None = None
        self._played = 0
        self._seconds = 0.0
        """Matches this process played and the time they took, its first one (a fresh runtime) aside."""

    def timed(self, seconds: float) -> None:
        self._played += 1
        if self._played > 1:
            self._seconds += seconds

    def answer(self) -> None:
        self._answered += 1
        if self._answered >= self._workers:
            self.relieved.set()

    def verdict(self, left: int) -> bool | None:
        """Whether to start the workers, or None while it is too early to tell; once decided, decided for
        every worker. Yes once what is left, shared by the workers at this process's pace, would outlast
        a cold worker's start (`COLD_START_S`), or when no pace is known that long after the run began
        (its first matches are slow: this is no small run); no once nothing is left."""
        if self._decision is None:
            if left == 0:
                self._decision = False
            elif self._played > 1:
                pace = self._seconds / (self._played - 1)
                self._decision = True if left * pace / self._workers > COLD_START_S else None
            elif time.perf_counter() - self._began >= COLD_START_S:
                self._decision = True
        return self._decision

    def patience(self) -> float:
        """How long to wait for the feed to change before asking `verdict` again: until the start-up
        time has passed with no pace known, else as long as it takes."""
        if self._played > 1:
            return math.inf
        return max(0.0, COLD_START_S - (time.perf_counter() - self._began)) + 0.001


class LocalProcessExecutor:
    """A pool of `workers` local processes, started on demand (or taken from `pool`) and reused across
    matches.

    Each worker is sent up to `depth` jobs at a time: the next job waits in its pipe while it plays the
    current one, so a worker never idles between matches waiting for the coordinator (which may be
    busy, or waiting for a core). A worker that dies fails only the job it was playing
    (WorkerLostError) and is replaced by a fresh process; the jobs queued behind that one were never
    read, so they go to another worker without counting as an attempt. `target` is the function a
    worker runs per job (its module must be importable by the workers); the default plays the match
    with the worker's own sandbox runtime. With a `pool`, idle workers come from it first and go back to
    it at `aclose`.

    `inline` (for `stream`, without a `pool`): plays a job in this process and returns what a worker
    would reply. A cold worker costs ~15 ms of CPU more than playing in-process (the
    fork's page faults, its runtime, loading components, opening the database), and an 8-strategy IPD
    run is ~25 ms of work: on a 2-core machine, cold workers made such a run 1.3-2x slower than one
    process. So with `inline` no worker is started up front: this process plays, and the workers start
    only once what is left of the run would outlast their start at its pace (`_StandIn.verdict`); it
    stops taking jobs once every worker has answered. Until a worker has answered, it is sent one job
    at a time (a job waiting in the pipe of a worker that is still starting would hold up the end of a
    short run). This process never plays a job whose worker died: if the job killed it, it would kill
    the coordinator too.
    """

    def __init__(
        self,
        workers: int,
        *,
        target: JobFunction = execute_in_worker,
        depth: int = PIPELINE_DEPTH,
        pool: WorkerPool | None = None,
        inline: JobFunction | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self._workers = workers
        self._depth = depth
        self._target = target
        self._pool = pool
        self._inline = inline if workers > 1 and pool is None else None
        self._limiter = anyio.CapacityLimiter(workers * depth)
        self._live: list[_Worker] = []
        self._starting = 0
        self._changed = anyio.Event()
        self.started = 0
        """Worker processes started so far (a replaced worker counts again)."""
        self.reused = 0
        """Workers taken from the pool so far instead of started."""
        self.played_inline = 0
        """Jobs `stream` played in this process (with `inline`), in its workers' stead."""

    @property
    def slots(self) -> int:
        return self._workers * self._depth

    def pids(self) -> list[int]:
        """Process ids of the live workers (for monitoring and tests)."""
        return [pid for worker in self._live if worker.alive and (pid := worker.pid) is not None]

    async def play(self, job: MatchJob) -> MatchPlayed:
        async with self._limiter:
            while True:
                worker = await self._pick()
                try:
                    return await worker.call(job)
                except _NotStartedError:
                    self._forget(worker)
                    if worker.in_flight == 0:
                        await worker.kill()
                except WorkerLostError:
                    self._forget(worker)
                    raise
                except BaseException as error:
                    if not isinstance(error, Exception):
                        self._forget(worker)
                        await worker.kill()
                    raise
                finally:
                    self._notify()

    async def stream(self, feed: JobFeed) -> None:
        """Play the feed's jobs, one task per worker: it keeps up to `depth` jobs in its worker's pipe and
        reads the replies as they come, with no task, limiter or event per job (a run through `play`
        cost the coordinator 200-330 us of CPU a match against 150-240 us). Not to be mixed with `play`
        in one run.

        A worker that dies fails the job it was playing (`feed.lost`); the jobs behind it in its pipe
        were never read (`feed.unstarted`); the task carries on with a fresh worker. With `inline`, this
        process plays in the workers' stead until they are worth starting (see the class).
        """
        claimed: set[_Worker] = set()
        if self._inline is None:
            async with anyio.create_task_group() as group:
                for _ in range(self._workers):
                    group.start_soon(self._feed_worker, feed, claimed, None)
            return
        stand_in = _StandIn(self._workers)
        async with anyio.create_task_group() as group:
            for _ in range(self._workers):
                group.start_soon(self._feed_when_worth_it, feed, claimed, stand_in)
            group.start_soon(self._feed_inline, self._inline, feed, stand_in)

    async def _feed_inline(self, inline: JobFunction, feed: JobFeed, stand_in: _StandIn) -> None:
        """Play jobs in this process until every worker has answered; the match in hand is finished.

        Until the workers are to start, on the event loop's own thread: nothing else needs the loop
        then, and handing each match to a thread and back costs two wake-ups (0.1-0.3 ms each on a
        2-core VM, a third of a short match). Once they start, in a thread, so that the loop keeps
        feeding them."""
        while not stand_in.relieved.is_set():
            taken = feed.take(retries=False)
            if taken is None:
                if feed.exhausted():
                    return
                await feed.changed()
                continue
            token, job = taken
            began = time.perf_counter()
            if stand_in.verdict(feed.left()):
                played = await anyio.to_thread.run_sync(inline, job)
            else:
                played = inline(job)
                await anyio.lowlevel.checkpoint()
            stand_in.timed(time.perf_counter() - began)
            self.played_inline += 1
            await feed.done(token, played)

    async def _feed_when_worth_it(self, feed: JobFeed, claimed: set[_Worker], stand_in: _StandIn) -> None:
        """A worker's task while this process stands in: its worker starts once the run is long enough."""
        while (start := stand_in.verdict(feed.left())) is None:
            if feed.exhausted():
                return
            with anyio.move_on_after(stand_in.patience()):
                await feed.changed()  # every match played here changes the feed
        if start:
            await self._feed_worker(feed, claimed, stand_in)

    async def _feed_worker(self, feed: JobFeed, claimed: set[_Worker], stand_in: _StandIn | None) -> None:
        worker: _Worker | None = None
        sent: collections.deque[object] = collections.deque()
        """The tokens of the jobs in the worker's pipe, in order: the first is being played."""
        depth = self._depth if stand_in is None else 1
        while True:
            taken = feed.take() if len(sent) < depth else None
            if worker is None:
                if taken is None:
                    if feed.exhausted():
                        return
                    await feed.changed()
                    continue
                try:  # a worker only for a job, so that a 1-match run starts one worker
                    worker = await self._claim(claimed)
                except WorkerLostError as error:
                    feed.lost(taken[0], error)  # as `play` counts it: the job's worker was lost
                    continue
            broken = False
            while taken is not None:
                token, job = taken
                worker.in_flight = len(sent) + 1
                try:
                    await worker._send(job)
                except (OSError, anyio.ClosedResourceError):
                    worker.in_flight = len(sent)
                    feed.unstarted(token)
                    broken = True
                    break
                sent.append(token)
                taken = feed.take() if len(sent) < depth else None
            if not sent:
                if broken:
                    claimed.discard(worker)
                    self._forget(worker)
                    await worker.kill()
                    worker = None
                elif feed.exhausted():
                    return
                else:
                    await feed.changed()
                continue
            try:
                replies = await worker.replies()
            except (_WorkerGoneError, EOFError, OSError, anyio.ClosedResourceError):
                claimed.discard(worker)
                self._forget(worker)
                worker._end()
                with anyio.CancelScope(shield=True):
                    returncode = await worker._reap()
                worker.in_flight = 0
                feed.lost(sent.popleft(), WorkerLostError(describe_exit(returncode)))
                while sent:
                    feed.unstarted(sent.popleft())
                worker = None
                continue
            if stand_in is not None and depth < self._depth:
                depth = self._depth
                stand_in.answer()
            for reply in replies:
                token = sent.popleft()
                worker.in_flight = len(sent)
                ok, value = pickle.loads(reply)
                if not ok:
                    raise value
                await feed.done(token, cast(MatchPlayed, value))

    async def _claim(self, claimed: set[_Worker]) -> _Worker:
        """A live worker no other task of `stream` holds: an idle one already started (or adopted from
        the pool), else a new one; WorkerLostError if none could start."""
        while True:
            for worker in list(self._live):
                if worker in claimed or worker.in_flight:
                    continue
                if worker.poll():
                    claimed.add(worker)
                    return worker
                self._forget(worker)
                await worker.kill()
            if len(self._live) + self._starting < self._workers:
                break
            await self._changed.wait()
        worker = await self._start_worker()
        self._live.append(worker)
        claimed.add(worker)
        return worker

    def _forget(self, worker: _Worker) -> None:
        if worker in self._live:
            self._live.remove(worker)
            self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def start(self, jobs: int) -> None:
        """Start the workers for `jobs` concurrent jobs now rather than on demand (one per job, up to
        `workers`), so that they start up (the fork, their first runtime) while the coordinator still
        plans; asking the zygote does not wait for its forks. A worker that cannot start is left to the
        first job that needs one to report."""
        with contextlib.suppress(WorkerLostError):
            while len(self._live) + self._starting < min(jobs, self._workers) and self._inline is None:
                self._live.append(await self._start_worker())

    async def _start_worker(self) -> _Worker:
        kind = b"" if self._pool is None else worker_kind(self._target)
        if self._pool is not None and (idle := self._pool.take_worker(kind)) is not None:
            self.reused += 1
            return _Worker.adopt(idle)
        self._starting += 1
        try:
            worker = await _Worker.start(self._target, kind)
        finally:
            self._starting -= 1
            self._notify()
        self.started += 1
        return worker

    async def _pick(self) -> _Worker:
        """An idle worker, else a new one (up to `workers`), else the least loaded one with room."""
        while True:
            for worker in list(self._live):
                if worker.in_flight == 0 and not worker.poll():
                    self._forget(worker)
                    await worker.kill()
            idle = [worker for worker in self._live if worker.in_flight == 0]
            if idle:
                return idle[0]
            if len(self._live) + self._starting < self._workers:
                worker = await self._start_worker()
                self._live.append(worker)
                return worker
            room = [w for w in self._live if w.alive and w.in_flight < self._depth]
            if room:
                return min(room, key=lambda w: w.in_flight)
            await self._changed.wait()

    async def _checkout(self) -> _Worker:
        """A worker for the next job (for tests that need a live worker without playing)."""
        return await self._pick()

    async def aclose(self) -> None:
        """Hand idle workers to the pool, or let them go (they exit at once; nothing waits for that), and
        stop the others: a worker still playing (a cancelled run) gets `SHUTDOWN_GRACE_S` to finish
        before it is killed."""
        workers, self._live = list(self._live), []
        busy = []
        for worker in workers:
            if worker.in_flight == 0 and worker.alive:
                if self._pool is not None and worker.poll():
                    self._pool.keep_worker(worker.detach())
                else:
                    worker.leave()
            else:
                busy.append(worker)
        if busy:
            with anyio.CancelScope(shield=True):
                async with anyio.create_task_group() as group:
                    for worker in busy:
                        group.start_soon(worker.stop)
