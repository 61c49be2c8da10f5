"""The program each local worker process runs: read a match job from stdin, play it, write the result.

Kept free of anyio so a worker starts quickly. Messages are pickles framed by an 8-byte big-endian length;
the protocol's pipes are moved off file descriptors 0 and 1 first, so nothing a component or wasmtime
prints can corrupt them. The worker exits when its coordinator closes stdin or dies.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import struct
import sys
from typing import IO, Any

HEADER = struct.Struct(">Q")
_PR_SET_PDEATHSIG = 1


def send(stream: IO[bytes], value: object) -> None:
    """Write one framed pickle and flush it."""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def receive(stream: IO[bytes]) -> Any:
    """Read one framed pickle; raises EOFError when the coordinator closed the pipe."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        raise EOFError
    (length,) = HEADER.unpack(header)
    data = stream.read(length)
    if len(data) < length:
        raise EOFError
    return pickle.loads(data)


def _die_with_parent(parent: int) -> None:
    """Linux: get SIGKILL when the coordinator dies, so a killed run leaves no busy orphans behind."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)


def _result(target: Any, job: object) -> tuple[bool, object]:
    try:
        return True, target(job)
    except Exception as error:
        return False, error


def main() -> None:
    """Serve jobs until stdin closes: first the coordinator's sys.path, then the job function, then jobs."""
    _die_with_parent(int(sys.argv[1]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the coordinator's to handle, then it stops us
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    try:
        sys.path[:] = receive(requests)
        target = receive(requests)
        while True:
            job = receive(requests)
            ok, value = _result(target, job)
            try:
                send(replies, (ok, value))
            except (pickle.PicklingError, TypeError, AttributeError) as error:
                send(replies, (False, RuntimeError(f"unpicklable result {value!r}: {error}")))
    except (EOFError, BrokenPipeError):
        return


if __name__ == "__main__":
    main()
