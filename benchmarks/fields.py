"""Benchmark fields of any size, and peak-memory readings of a process and its worker processes.

The built-ins have 12 C strategies and one componentize-py one that play rps. Larger fields register
copies of them under new names in the benchmark's own database. Each copy gets a custom section with its
name appended, so its bytes and content hash are distinct (each copy is compiled, cached and loaded like a
separate upload) while it plays exactly like the original.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tournament.orchestration.executors.process_worker import WORKER_NAME
from tournament.persistence.database import Database, open_database
from tournament.persistence.strategies import add_version

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "strategies" / "build"
MANIFEST = BUILD / "manifest.json"

RPS_C = [
    "always-switch", "anti-flat", "bandit", "beat-last", "biased-random", "constant", "de-bruijn", "flat",
    "iocaine-powder", "rfind", "rotate", "uniform-random",
]  # fmt: skip
RPS_PYTHON = ["beat-frequent"]
COPY_SECTION = b"tournament-bench-copy"


def _leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def tagged_copy(data: bytes, tag: str) -> bytes:
    """`data` with a trailing custom section naming `tag`: new content hash, same behaviour."""
    body = _leb128(len(COPY_SECTION)) + COPY_SECTION + tag.encode()
    return data + b"\x00" + _leb128(len(body)) + body


def open_bench_database(directory: Path) -> Database:
    """A fresh SQLite database in `directory` with the built-ins registered."""
    return open_database(f"sqlite:///{directory / 'bench.db'}", builtins_manifest=MANIFEST)


def rps_field(db: Database, c_strategies: int, python_strategies: int = 0) -> list[str]:
    """Names of a field of `c_strategies` C and `python_strategies` Python strategies for rps.

    The built-ins come first; the rest are tagged copies of them (cycling through the originals),
    registered in `db` as uploads named `<original>-copy-<n>`.
    """
    names: list[str] = []
    with db.sessions.begin() as session:
        for originals, wanted, language in (
            (RPS_C, c_strategies, "c"),
            (RPS_PYTHON, python_strategies, "python"),
        ):
            names += originals[:wanted]
            for index in range(max(0, wanted - len(originals))):
                original = originals[index % len(originals)]
                name = f"{original}-copy-{index + 1}"
                data = (BUILD / f"{original}.wasm").read_bytes()
                add_version(
                    session, name=name, data=tagged_copy(data, name), version="1.0.0", language=language,
                    games=["rps"], description=f"benchmark copy of {original}", deterministic=True,
                )  # fmt: skip
                names.append(name)
    return names


def _status_kib(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def peak_rss_mib(pid: int) -> float | None:
    """The process's peak resident set (VmHWM), in MiB; None once it has exited."""
    kib = _status_kib(pid, "VmHWM")
    return None if kib is None else kib / 1024


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current resident set (Linux `clear_refs` 5); False if refused."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def rss_mib(pid: int) -> float | None:
    """The process's current resident set (VmRSS), in MiB; None once it has exited."""
    kib = _status_kib(pid, "VmRSS")
    return None if kib is None else kib / 1024


def child_pids(pid: int) -> list[int]:
    """Direct children of `pid` (every thread's children list)."""
    children: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return children
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as listing:
                children += [int(child) for child in listing.read().split()]
        except OSError:
            continue
    return children


def worker_pids(pid: int) -> list[int]:
    """The match workers among `pid`'s descendants: local workers are forked by the executor's zygote,
    a child of `pid`, and carry the process name `process_worker.WORKER_NAME`."""
    found: list[int] = []
    stack = child_pids(pid)
    while stack:
        child = stack.pop()
        stack += child_pids(child)
        try:
            with open(f"/proc/{child}/comm", "rb") as comm:
                name = comm.read().strip()
        except OSError:
            continue
        if name == WORKER_NAME:
            found.append(child)
    return found


@dataclass
class WorkerPeaks:
    """Peak resident set of every child process seen while sampling (VmHWM only grows, so the last
    reading of a process is its peak up to then)."""

    peaks: dict[int, float] = field(default_factory=dict)

    def sample(self, pid: int) -> None:
        for child in worker_pids(pid):
            peak = peak_rss_mib(child)
            if peak is not None:
                self.peaks[child] = max(peak, self.peaks.get(child, 0.0))

    def current(self, pid: int) -> list[float]:
        """Current resident sets of the live children, in MiB."""
        return [rss for rss in (rss_mib(child) for child in worker_pids(pid)) if rss is not None]


class ChildSampler:
    """A thread that records the peaks of `pid`'s child processes every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval, self.workers = pid, interval, WorkerPeaks()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="child-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.workers.sample(self.pid)

    def __enter__(self) -> ChildSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
