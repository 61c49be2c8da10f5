"""Wasmtime engine configuration shared by compilation, the artifact cache and execution."""

from __future__ import annotations

import functools
import hashlib
import os
import resource
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import wasmtime
from wasmtime import _ffi

_set_concurrency_support: Callable[[Any, bool], None] | None = getattr(
    _ffi, "wasmtime_config_concurrency_support_set", None
)

CONCURRENCY_OFF = _set_concurrency_support is not None
"""Whether engines are built without the component model's async machinery (see `make_engine`)."""

POOLING_ENV = "TOURNAMENT_POOLING"
"""Set to 0 to give engines wasmtime's default on-demand allocator instead of the pooling one."""

POOL_BOUNDS: dict[str, int] = {
    "total_component_instances": 32,
    "total_core_instances": 256,
    "total_memories": 64,
    "total_tables": 128,
    "total_stacks": 0,
    "total_gc_heaps": 0,
    "max_memory_size": 4 << 30,
    "max_memories_per_module": 8,
    "table_elements": 100_000,
    "linear_memory_keep_resident": 128 << 10,
    "table_keep_resident": 64 << 10,
    "max_unused_warm_slots": 32,
}
"""The pooling allocator's slots, per engine (see `make_engine`).

The totals bound instances alive at once in one engine. A runtime plays one match at a time: two
players, each a component of up to a dozen core instances (componentize-py and componentize-js ones
are the largest); the rest is headroom for players that garbage collection has yet to free (the
player retries once after a collection when a total is reached: `sandbox.player`). Each memory slot
reserves address space, not memory: 4 GiB plus a guard, about 260 GiB for 64, a five-hundredth of a
64-bit process's. The per-instance bounds are wide enough not to narrow the sandbox policy: a
memory may grow to wasm32's 4 GiB (the tournament's `memory_bytes` stays the cap, through the store's
limits), tables to 100,000 elements (componentize-js's largest is about 7,700), up to eight memories
per module. A component beyond them is
refused when it is compiled or loaded, as one that does not fit the engine. Up to 32 freed slots stay
warm with their first 128 KiB resident: a strategy's next instance reuses them without faulting its
memory in again.
"""


def pooling_enabled() -> bool:
    """Whether new engines use the pooling allocator: unless `TOURNAMENT_POOLING=0`, or the process has
    an address-space or data limit (RLIMIT_AS, RLIMIT_DATA: `ulimit -v`, `-d`, and the validation
    child's own limits). The pool reserves its slots up front, its tables as writable memory (about
    100 MB that counts as data), and under an address-space limit wasmtime 51 fails to reserve them
    and crashes the process when the engine is dropped."""
    if os.environ.get(POOLING_ENV, "1") == "0":
        return False
    unlimited = all(
        resource.getrlimit(kind)[0] == resource.RLIM_INFINITY
        for kind in (resource.RLIMIT_AS, resource.RLIMIT_DATA)
    )
    return unlimited and hasattr(_ffi, "wasmtime_pooling_allocation_strategy_set")


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Everything that changes compiled code; serialized artifacts only load into an identical engine."""

    stack_bytes: int

    @property
    def fingerprint(self) -> str:
        """A short key for the artifact cache: settings plus the wasmtime version."""
        return _fingerprint(self.stack_bytes)


@functools.cache
def _fingerprint(stack_bytes: int) -> str:
    """Memoized: reading the installed wasmtime's version scans package metadata (5-10 ms, and the first
    time imports the email parser), which a worker would otherwise pay before its first move."""
    concurrency = ";concurrency=0" if CONCURRENCY_OFF else ""
    text = f"wasmtime={version('wasmtime')};fuel=1;epoch=1;stack={stack_bytes}{concurrency}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_engine(settings: EngineSettings) -> wasmtime.Engine:
    """An engine with fuel metering and epoch interruption on: both limits need compiled-in checks.

    Concurrency support (the component model's async tasks, streams and futures) is off: the contract
    is synchronous, and with it on every call into a component creates and tears down a task in the
    store (about a quarter of a move's CPU in wasmtime). WASI 0.2 components do not need it.

    Instances come from the pooling allocator (`POOL_BOUNDS`) where it is enabled: a match creates and
    drops two instances, and the default allocator maps and unmaps a 4 GiB reservation for each memory
    and allocates each instance's context afresh, about a quarter of a short match's CPU. Compiled
    code is the same under both allocators, so artifacts are shared.
    """
    config = wasmtime.Config()
    config.consume_fuel = True
    config.epoch_interruption = True
    config.max_wasm_stack = settings.stack_bytes
    config.cranelift_opt_level = "speed"
    if _set_concurrency_support is not None:
        _set_concurrency_support(config.ptr(), False)
    if pooling_enabled():
        _use_pooling(config)
    return wasmtime.Engine(config)


def _use_pooling(config: wasmtime.Config) -> None:
    pool = _ffi.wasmtime_pooling_allocation_config_new()
    try:
        for name, value in POOL_BOUNDS.items():
            getattr(_ffi, f"wasmtime_pooling_allocation_config_{name}_set")(pool, value)
        _ffi.wasmtime_pooling_allocation_strategy_set(config.ptr(), pool)
    finally:
        _ffi.wasmtime_pooling_allocation_config_delete(pool)
