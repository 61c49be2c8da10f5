"""Wasmtime engine configuration shared by compilation, the artifact cache and execution."""

from __future__ import annotations

import functools
import hashlib
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
    """
    config = wasmtime.Config()
    config.consume_fuel = True
    config.epoch_interruption = True
    config.max_wasm_stack = settings.stack_bytes
    config.cranelift_opt_level = "speed"
    if _set_concurrency_support is not None:
        _set_concurrency_support(config.ptr(), False)
    return wasmtime.Engine(config)
