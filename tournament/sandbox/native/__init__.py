"""The match loop's clean rounds in C (`rounds.c`): a plain shared library, built on first use, called
through ctypes.

A move made from Python costs three ctypes calls and the interpreter around them; made from a C loop,
the same wasmtime C calls cost a fraction of that. The library is compiled with the system C compiler
(`$CC`, else `cc`) into the user cache, under a name that hashes the source, the flags and the platform,
and written atomically, so concurrent processes share one build. It links against nothing: the
wasmtime C API functions it calls are passed in as addresses from the library wasmtime-py has loaded.

Everything here is optional: without a compiler, when the build or the load fails, or with
`TOURNAMENT_NATIVE=0`, `rounds()` is None and the match loop plays its rounds in Python (the results are
identical; `tests/sandbox/test_match_paths.py` proves it). A process tries to build at most once.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from tournament.sandbox.artifacts import default_cache_dir

logger = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("rounds.c")
CFLAGS = ("-O2", "-shared", "-fPIC", "-std=c11", "-Wall", "-Wextra")
MAX_MOVES = 32
"""Largest game played natively: each player's argument table has n * n + 1 lowered values."""
BUILD_TIMEOUT_S = 60.0

_u64, _u32, _i64, _ptr = ctypes.c_uint64, ctypes.c_uint32, ctypes.c_int64, ctypes.c_void_p


class Api(ctypes.Structure):
    """The wasmtime C API functions the loop calls (`struct api`)."""

    _fields_ = [
        ("set_fuel", _ptr),
        ("get_fuel", _ptr),
        ("set_deadline", _ptr),
        ("func_call", _ptr),
        ("error_delete", _ptr),
    ]


class Side(ctypes.Structure):
    """A player's instance for a run, and its call's outcome in the round that stopped it (`struct side`)."""

    _fields_ = [
        ("context", _ptr),
        ("func", _ptr),
        ("result", _ptr),
        ("result_u32", _ptr),
        ("args", _ptr),
        ("fuel", _u64),
        ("deadline", _u64),
        ("called", _u32),
        ("move", _u32),
        ("used", _u64),
        ("error", _ptr),
    ]


class Out(ctypes.Structure):
    """Where the loop writes the clean rounds and the tallies (`struct out`)."""

    _fields_ = [
        ("move_a", _ptr),
        ("move_b", _ptr),
        ("payoff_a", _ptr),
        ("payoff_b", _ptr),
        ("fuel_a", _ptr),
        ("fuel_b", _ptr),
        ("cell", _ptr),
        ("tally", _ptr),
        ("round", _ptr),
    ]


class Rounds:
    """The loaded library with the wasmtime functions bound: `play` is one ctypes call per run."""

    def __init__(self, library: ctypes.CDLL, wasmtime_library: Any, path: Path) -> None:
        self.path = path
        self._library = library
        play = library.play_rounds
        play.restype = ctypes.c_int64
        play.argtypes = [
            ctypes.POINTER(Api),
            ctypes.POINTER(Side),
            ctypes.POINTER(Side),
            ctypes.c_uint32,
            _ptr,
            ctypes.c_int64,
            ctypes.c_int64,
            ctypes.c_int64,
            ctypes.POINTER(Out),
        ]
        self._play = play

        def address(name: str) -> int:
            value = ctypes.cast(getattr(wasmtime_library, name), _ptr).value
            if not value:
                raise OSError(f"{name} not found in the wasmtime library")
            return value

        self.api = Api(
            address("wasmtime_context_set_fuel"),
            address("wasmtime_context_get_fuel"),
            address("wasmtime_context_set_epoch_deadline"),
            address("wasmtime_component_func_call"),
            address("wasmtime_error_delete"),
        )

    def play(
        self,
        a: Side,
        b: Side,
        n_moves: int,
        payoffs: int,
        first_round: int,
        count: int,
        last_cell: int,
        out: Out,
    ) -> int:
        """Clean rounds played (see `play_rounds` in rounds.c); releases the GIL while it runs."""
        played = self._play(
            ctypes.byref(self.api), ctypes.byref(a), ctypes.byref(b), n_moves, payoffs, first_round, count,
            last_cell, ctypes.byref(out),
        )  # fmt: skip
        if played < 0:
            raise ValueError("play_rounds refused its arguments")
        return int(played)


def library_path(directory: Path | None = None) -> Path:
    """Where this source, built with these flags by this compiler on this platform, is cached."""
    compiler = os.environ.get("CC") or "cc"
    identity = hashlib.sha256()
    for part in (SOURCE.read_bytes(), compiler.encode(), " ".join(CFLAGS).encode()):
        identity.update(part)
        identity.update(b"\0")
    identity.update(f"{sys.platform};{platform.machine()};{sys.implementation.cache_tag}".encode())
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    return (directory or default_cache_dir() / "native") / f"rounds-{identity.hexdigest()[:16]}{suffix}"


def build(directory: Path | None = None) -> Path:
    """Compile the library unless it is already cached; raises OSError or CalledProcessError on failure."""
    path = library_path(directory)
    if path.exists():
        return path
    compiler = os.environ.get("CC") or "cc"
    command = shutil.which(compiler.split()[0]) if compiler.strip() else None
    if command is None:
        raise OSError(f"no C compiler ({compiler!r} not found)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".rounds-", suffix=path.suffix)
    os.close(fd)
    try:
        subprocess.run(
            [*compiler.split(), *CFLAGS, "-o", tmp, str(SOURCE)],
            check=True,
            capture_output=True,
            timeout=BUILD_TIMEOUT_S,
        )
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def load(directory: Path | None = None) -> Rounds:
    """Build if needed and load the library; raises on any failure (see `rounds` for the quiet form)."""
    from wasmtime import _ffi

    path = build(directory)
    return Rounds(ctypes.CDLL(str(path)), _ffi.dll, path)


class _Process:
    """What this process has loaded (at most one attempt: a failed build is not retried)."""

    lock = threading.Lock()
    loaded: Rounds | None = None
    tried = False


def rounds() -> Rounds | None:
    """The native loop, or None: disabled by `TOURNAMENT_NATIVE=0`, or it could not be built or loaded.

    Builds and loads on the first call in a process (and never tries again after a failure, which is
    logged once at debug level). Call it before forking workers to have them inherit it loaded.
    """
    if os.environ.get("TOURNAMENT_NATIVE") == "0":
        return None
    if _Process.tried:
        return _Process.loaded
    with _Process.lock:
        if not _Process.tried:
            try:
                _Process.loaded = load()
            except (OSError, subprocess.SubprocessError, AttributeError, ImportError) as error:
                detail = getattr(error, "stderr", b"") or b""
                logger.debug("native match loop unavailable: %s %s", error, detail.decode(errors="replace"))
            _Process.tried = True
    return _Process.loaded
