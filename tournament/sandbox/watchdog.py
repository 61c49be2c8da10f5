"""The epoch ticker: a wall-clock backstop behind fuel metering.

Fuel bounds the instructions a guest runs; the epoch deadline bounds wall-clock time in case a call
blocks or fuel is set generously. ctypes releases the GIL during wasm calls, so a plain thread works.
"""

from __future__ import annotations

import math
import threading

import wasmtime

TICK_SECONDS = 0.01


class EpochTicker:
    """Increments an engine's epoch every tick while running; one per engine, and the only thing that
    advances that engine's epoch.

    `sequence` lets callers skip re-arming a store's epoch deadline when the epoch has not moved since
    they last armed it (a C call per move saved). It is a sequence lock around each increment: odd
    while an increment is in progress, and bumped before and after it. A caller that read the same even
    value before arming a deadline and again before its next call knows no increment happened in
    between, so the deadline it armed is exactly the one arming it again would give.
    """

    def __init__(self, engine: wasmtime.Engine, tick_seconds: float = TICK_SECONDS) -> None:
        self._engine = engine
        self._tick = tick_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sequence = 0

    def start(self) -> None:
        """Start ticking (again, after `stop`: a pooled runtime's ticker rests between runs)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="epoch-ticker", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def ticks_for(self, timeout_ms: int) -> int:
        """Epoch deadline (in ticks) that expires no sooner than `timeout_ms` from now."""
        return math.ceil(timeout_ms / 1000 / self._tick) + 1

    def advance(self) -> None:
        """One tick: the engine's epoch moves by one, inside the sequence lock."""
        self.sequence += 1
        try:
            self._engine.increment_epoch()
        finally:
            self.sequence += 1

    def _run(self) -> None:
        while not self._stop.wait(self._tick):
            self.advance()
