"""The record of one played round: what the engine persists and what strategies see next round."""

from __future__ import annotations

from dataclasses import dataclass

from tournament.rules.forfeits import ForfeitReason


@dataclass(frozen=True, slots=True)
class RoundRecord:
    """One round of a match between player A and player B."""

    index: int
    """Round number within the match, from 0."""
    move_a: int | None
    """The move A actually played (after noise); None if A forfeited the round."""
    move_b: int | None
    """The move B actually played (after noise); None if B forfeited the round."""
    payoff_a: int
    payoff_b: int
    noise_a: bool = False
    """True when noise replaced A's chosen move with a different one."""
    noise_b: bool = False
    forfeit_a: ForfeitReason | None = None
    forfeit_b: ForfeitReason | None = None
    fuel_a: int = 0
    """Fuel A's move call consumed (0 when it did not run)."""
    fuel_b: int = 0

    def swapped(self) -> RoundRecord:
        """The same round seen from B's side (B becomes A)."""
        return RoundRecord(
            index=self.index,
            move_a=self.move_b,
            move_b=self.move_a,
            payoff_a=self.payoff_b,
            payoff_b=self.payoff_a,
            noise_a=self.noise_b,
            noise_b=self.noise_a,
            forfeit_a=self.forfeit_b,
            forfeit_b=self.forfeit_a,
            fuel_a=self.fuel_b,
            fuel_b=self.fuel_a,
        )
