"""What a component must satisfy to be admitted: games, WASI policy, size cap, sandbox limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tournament.sandbox.limits import SandboxLimits

DEFAULT_MAX_SIZE = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ValidationPolicy:
    """The organizer's admission policy; it crosses a process boundary as JSON (`to_dict`/`from_dict`)."""

    games: tuple[str, ...] = ("rps",)
    """Games the strategy is validated for; the smoke match plays built-ins of each."""
    allow_wasi: bool = False
    """Admit components that import WASI; they are then marked non-deterministic."""
    max_size: int = DEFAULT_MAX_SIZE
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    smoke_rounds: int = 100
    """Rounds of each smoke match."""

    def __post_init__(self) -> None:
        if not self.games or not all(isinstance(game, str) and game for game in self.games):
            raise ValueError(f"a validation policy needs at least one game, got {self.games!r}")
        for name in ("max_size", "smoke_rounds"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

    def to_dict(self) -> dict[str, object]:
        return {
            "games": list(self.games),
            "allow_wasi": self.allow_wasi,
            "max_size": self.max_size,
            "limits": self.limits.to_dict(),
            "smoke_rounds": self.smoke_rounds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ValidationPolicy:
        """The inverse of `to_dict`; missing keys take their defaults. ValueError if malformed."""
        default = cls()
        games = data.get("games", list(default.games))
        limits = data.get("limits", {})
        if not isinstance(games, list | tuple) or not isinstance(limits, Mapping):
            raise ValueError(f"malformed validation policy: {dict(data)!r}")
        return cls(
            games=tuple(games),
            allow_wasi=bool(data.get("allow_wasi", default.allow_wasi)),
            max_size=data.get("max_size", default.max_size),
            limits=SandboxLimits.from_dict(dict(limits)),
            smoke_rounds=data.get("smoke_rounds", default.smoke_rounds),
        )


class ValidationSetupError(ValueError):
    """Validation cannot run as asked (unknown game, no built-in opponents): not the component's fault."""
