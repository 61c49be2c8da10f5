"""The programs of local worker processes: the job loop each worker runs, and the zygote that forks them.

Why a zygote: a worker started as a fresh interpreter spends ~0.15 s of CPU importing wasmtime and the
engine before its first move, and on a 2-core machine every worker pays that out of the same CPU the
matches need. The zygote is one process that has the engine imported and forks a worker per request (a
fork costs ~1-3 ms), so workers start with every module loaded and nothing else.

Fork safety, the reason for its shape:
- A fork copies only the calling thread; a lock another thread held stays locked in the child forever
  (wasmtime's code registry, the epoch ticker, SQLite's mutexes, logging). So the zygote is forked from
  the coordinator only while the coordinator has exactly one OS thread (``/proc/self/task``), e.g. a CLI
  run before its first worker thread or compilation; otherwise it is started as a fresh interpreter
  (``python -m ...process_worker --zygote``) that imports the engine once. Either way the zygote itself
  stays single-threaded, so every worker forked from it is a fork of a single-threaded process.
- The zygote never uses what it inherited from the coordinator: it redirects fds 0-2 to /dev/null, closes
  every other inherited descriptor except its control socket (SQLite files, sockets, the event loop's
  epoll), freezes the garbage collector so no inherited object (a database connection) is ever
  finalized, drops any sandbox runtime it inherited (its epoch ticker thread did not survive the fork),
  and leaves only through ``os._exit``. Workers create their own wasmtime Engine on their first job.
- Environment, working directory and ``sys.path`` are sent by the coordinator with every new worker, so a
  long-lived zygote never hands out stale settings.

Protocol: the coordinator sends the zygote ``b"S"`` with two descriptors attached (the read end of the
worker's request pipe, the write end of its reply pipe); the zygote forks and answers the worker's pid
(8 bytes). A worker reads framed pickles (8-byte big-endian length) from its request pipe and writes
framed ``(ok, value)`` pickles to its reply pipe. The zygote keeps a copy of each worker's reply pipe and,
when the worker dies, writes one last frame there: `STATUS_MARK`, the worker's exit code (negative: the
signal) and its CPU seconds, which is how the coordinator learns that a worker was killed by SIGABRT (and
what its workers cost: they are not its children, so its own rusage cannot count them). Everything dies with
the coordinator: the zygote through ``PR_SET_PDEATHSIG`` and the end of its control socket, workers
through ``PR_SET_PDEATHSIG`` on the zygote.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import os
import pickle
import select
import selectors
import signal
import socket
import struct
import sys
from collections.abc import Sequence
from typing import IO, Any

HEADER = struct.Struct(">Q")
STATUS = struct.Struct(">Qqd")
STATUS_MARK = 2**64 - 1
"""A frame length no pickle has: the zygote's notice that the worker died, then its exit code and the CPU
seconds it used."""
IDLE_AFTER_S = 0.05
"""How long a worker waits for its next job before it does its idle tasks: longer than a coordinator
takes to send the next job of a run, shorter than the gap between two runs."""
WORKER_NAME = b"match-worker"
"""The workers' process name (``/proc/PID/comm``), so tools and tests can tell them apart."""
_PR_SET_NAME = 15
_PR_SET_PDEATHSIG = 1
_MAX_FD = 1 << 16


def send(stream: IO[bytes], value: object) -> None:
    """Write one framed pickle and flush it."""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream: IO[bytes]) -> Any:
    """Read one framed pickle; raises EOFError when the coordinator closed the pipe. The stream may be
    unbuffered (a read then returns what the pipe holds, possibly less than asked)."""
    (length,) = HEADER.unpack(_read_exactly(stream, HEADER.size))
    return pickle.loads(_read_exactly(stream, length))


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _prctl(option: int, value: int | bytes) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(option, value, 0, 0, 0)


def _die_with_parent(parent: int) -> None:
    """Linux: get SIGKILL when the parent dies, so a killed run leaves no busy orphans behind."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(0)


def _result(target: Any, job: object) -> tuple[bool, object]:
    try:
        return True, target(job)
    except Exception as error:
        return False, error


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The job loop: first the coordinator's settings, then the job function, then jobs until EOF.

    `requests` must be unbuffered: whether the next job is there is asked of the pipe itself. A worker
    that waited `IDLE_AFTER_S` for its next job does its idle tasks (`jobs.worker_idle`) first.
    """
    try:
        path, environment, cwd = receive(requests)
        sys.path[:] = path
        os.environ.clear()
        os.environ.update(environment)
        os.chdir(cwd)
        target = receive(requests)
        from tournament.orchestration.jobs import worker_idle

        while True:
            if not select.select([requests], [], [], IDLE_AFTER_S)[0]:
                worker_idle()
            job = receive(requests)
            ok, value = _result(target, job)
            try:
                send(replies, (ok, value))
            except (pickle.PicklingError, TypeError, AttributeError) as error:
                send(replies, (False, RuntimeError(f"unpicklable result {value!r}: {error}")))
    except (EOFError, BrokenPipeError):
        return


def _worker(requests_fd: int, replies_fd: int, zygote: int) -> None:
    """A freshly forked worker: serve jobs on its two pipes, then leave without running any finalizer."""
    code = 0
    try:
        _die_with_parent(zygote)
        _prctl(_PR_SET_NAME, WORKER_NAME)
        with open(requests_fd, "rb", buffering=0) as requests, open(replies_fd, "wb") as replies:
            serve(requests, replies)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


class _Zygote:
    """The fork loop: a worker per request, and each dead worker's exit code to its reply pipe."""

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.replies: dict[int, int] = {}
        """Live workers: pid -> this process's copy of the worker's reply pipe."""
        self.wakeup_r, self.wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_w, False)

    def run(self) -> None:
        signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
        signal.set_wakeup_fd(self.wakeup_w)
        with selectors.DefaultSelector() as selector:
            selector.register(self.control, selectors.EVENT_READ)
            selector.register(self.wakeup_r, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is self.control and not self._spawn():
                        return
                    if key.fileobj == self.wakeup_r:
                        with contextlib.suppress(BlockingIOError, InterruptedError):
                            os.read(self.wakeup_r, 4096)
                self._reap()

    def _spawn(self) -> bool:
        try:
            message, fds, _, _ = socket.recv_fds(self.control, 16, 2)
        except InterruptedError:
            return True
        if not message or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            return False
        requests_fd, replies_fd = fds
        zygote = os.getpid()
        pid = os.fork()
        if pid == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in (self.control.fileno(), self.wakeup_r, self.wakeup_w, *self.replies.values()):
                os.close(fd)
            _worker(requests_fd, replies_fd, zygote)
        os.close(requests_fd)
        self.replies[pid] = replies_fd
        self.control.sendall(struct.pack(">q", pid))
        return True

    def _reap(self) -> None:
        while self.replies:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            fd = self.replies.pop(pid, None)
            if fd is None:
                continue
            with contextlib.suppress(OSError):
                os.set_blocking(fd, False)
                cpu = usage.ru_utime + usage.ru_stime
                os.write(fd, STATUS.pack(STATUS_MARK, os.waitstatus_to_exitcode(status), cpu))
            os.close(fd)


def zygote_main(control_fd: int, parent: int, *, forked: bool, preload: Sequence[str] = ()) -> None:
    """Serve fork requests on `control_fd` until the coordinator closes it; never returns.

    `preload`: modules a zygote started afresh imports first, so that its workers have what a forked
    zygote inherits (the coordinator's modules; jobs may carry objects of any of them) instead of each
    worker importing them for its first job.
    """
    code = 0
    try:
        _die_with_parent(parent)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the coordinator's to handle
        signal.set_wakeup_fd(-1)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        keep = sorted({control_fd, devnull})
        os.closerange(3, keep[0])
        for low, high in zip(keep, [*keep[1:], _MAX_FD], strict=True):
            os.closerange(low + 1, high)
        if forked:
            gc.freeze()
        for module in preload:
            with contextlib.suppress(Exception):
                importlib.import_module(module)
        from tournament.orchestration import jobs

        jobs._runtimes.clear()  # an inherited runtime's epoch ticker thread did not survive the fork
        jobs.prepare_zygote()
        gc.freeze()  # what the zygote made too: a worker's collections never touch (and so copy) its pages
        _Zygote(socket.socket(fileno=control_fd)).run()
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def main() -> None:
    """``--zygote CONTROL_FD PARENT_PID [MODULE,...]``: the zygote as a fresh interpreter (see the module
    docstring), importing the given modules first."""
    if sys.argv[1:2] != ["--zygote"] or len(sys.argv) not in (4, 5):
        raise SystemExit(
            "usage: python -m tournament.orchestration.executors.process_worker --zygote FD PID [MODULES]"
        )
    preload = sys.argv[4].split(",") if len(sys.argv) == 5 and sys.argv[4] else []
    zygote_main(int(sys.argv[2]), int(sys.argv[3]), forked=False, preload=preload)


if __name__ == "__main__":
    main()
