"""What this machine itself allows: how two processes of pure CPU work scale against one.

On these shared 2-core VMs two busy processes do not always get two cores' worth of work done: measured,
a plain Python loop (no I/O, no coordination, nothing of ours) ran 1.69x to 2.06x faster as two
processes than as one, from one minute to the next. A scaling figure of ours means little without this
ceiling measured beside it, so `bench_scaling` takes it in every repeat.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.synchronize import Barrier

SPIN_ITERATIONS = 2_000_000
"""About a quarter of a second of one core."""


def _spin(iterations: int, start: Barrier, seconds: multiprocessing.SimpleQueue[float]) -> None:
    start.wait()
    began = time.perf_counter()
    total = 0
    for index in range(iterations):
        total += index * index % 7
    seconds.put(time.perf_counter() - began)


def _spin_together(processes: int, iterations: int) -> float:
    """Wall seconds until the last of `processes` simultaneous spinning processes is done."""
    context = multiprocessing.get_context("fork")
    start = context.Barrier(processes)
    seconds: multiprocessing.SimpleQueue[float] = context.SimpleQueue()
    children = [context.Process(target=_spin, args=(iterations, start, seconds)) for _ in range(processes)]
    for child in children:
        child.start()
    for child in children:
        child.join()
    return max(seconds.get() for _ in children)


def host_scaling(iterations: int = SPIN_ITERATIONS) -> float:
    """Throughput of two processes spinning at once over one spinning alone (2.0 on two free cores)."""
    alone = _spin_together(1, iterations)
    return 2 * alone / _spin_together(2, iterations)
