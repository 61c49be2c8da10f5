"""Why a player failed to produce a legal move."""

from __future__ import annotations

import enum


class ForfeitReason(enum.StrEnum):
    """A recorded reason for a forfeited round; the value is what users see and what is stored."""

    FUEL = "fuel"
    """The move call used up its fuel budget (about one unit per wasm instruction)."""
    TIMEOUT = "timeout"
    """The move call ran past its wall-clock deadline (epoch interruption)."""
    MEMORY = "memory"
    """The instance needed more linear memory than its cap allows."""
    TRAP = "trap"
    """The guest trapped (unreachable, stack exhaustion, out-of-bounds access, ...)."""
    ILLEGAL_MOVE = "illegal-move"
    """The guest returned a move outside the game's move list."""
    BAD_COMPONENT = "bad-component"
    """The component could not be loaded or instantiated at all."""

    @property
    def ends_match(self) -> bool:
        """Whether the player is out for the rest of the match (its store is dead) rather than one round."""
        return self in (ForfeitReason.TRAP, ForfeitReason.MEMORY, ForfeitReason.BAD_COMPONENT)
