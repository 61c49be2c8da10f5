"""Wasmtime engine configuration shared by compilation, the artifact cache and execution."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.metadata import version

import wasmtime


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Everything that changes compiled code; serialized artifacts only load into an identical engine."""

    stack_bytes: int

    @property
    def fingerprint(self) -> str:
        """A short key for the artifact cache: settings plus the wasmtime version."""
        text = f"wasmtime={version('wasmtime')};fuel=1;epoch=1;stack={self.stack_bytes}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_engine(settings: EngineSettings) -> wasmtime.Engine:
    """An engine with fuel metering and epoch interruption on: both limits need compiled-in checks."""
    config = wasmtime.Config()
    config.consume_fuel = True
    config.epoch_interruption = True
    config.max_wasm_stack = settings.stack_bytes
    config.cranelift_opt_level = "speed"
    return wasmtime.Engine(config)
