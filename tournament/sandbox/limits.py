"""Resource limits for strategy instances (design.md, "Sandbox policy")."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from tournament.picklable import by_fields


@by_fields
@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """Per-tournament limits; recorded with every tournament so a run can be replayed exactly."""

    fuel_per_move: int = 20_000_000
    """Wasmtime fuel (about one unit per wasm instruction) for one `next-move` call."""
    setup_fuel: int = 200_000_000
    """Fuel for instantiation plus the `begin` call."""
    timeout_ms: int = 2_000
    """Wall-clock backstop per call, enforced with epoch interruption."""
    memory_bytes: int = 256 * 1024 * 1024
    """Linear memory cap per instance (all memories of the component together)."""
    stack_bytes: int = 512 * 1024
    """Wasm stack cap; an engine-level setting, so it is part of the compiled artifacts' cache key."""
    history_cap: int = 1_000
    """Most rounds of earlier meetings passed to `begin`."""
    log_lines: int = 100
    """Most `log` lines kept per player per match; later lines are dropped."""
    log_line_bytes: int = 500
    """Longer `log` lines are truncated."""

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                if field.name == "history_cap" and value == 0:
                    continue
                raise ValueError(f"limit {field.name} must be a positive integer, got {value!r}")

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxLimits:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown sandbox limit(s): {', '.join(unknown)}")
        return cls(**data)
