"""The record of one played round: what the engine persists and what strategies see next round."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

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

    def as_row(self) -> RoundRow:
        """The fields in declaration order (what `RoundLog` holds and storage writes)."""
        return (
            self.index,
            self.move_a,
            self.move_b,
            self.payoff_a,
            self.payoff_b,
            self.noise_a,
            self.noise_b,
            self.forfeit_a,
            self.forfeit_b,
            self.fuel_a,
            self.fuel_b,
        )

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


RoundRow = tuple[
    int, int | None, int | None, int, int, bool, bool, ForfeitReason | None, ForfeitReason | None, int, int
]
"""A `RoundRecord`'s fields in declaration order, as a plain tuple."""


class RoundLog(Sequence[RoundRecord]):
    """A match's rounds kept as plain tuples: a `RoundRecord` is made only when one is read.

    The match loop appends a row per round and storage writes the rows as they are, so a round costs no
    objects on the hot path; readers still see an ordinary sequence of records.
    """

    __slots__ = ("rows",)

    def __init__(self, rows: list[RoundRow]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> RoundRecord: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[RoundRecord, ...]: ...

    def __getitem__(self, index: int | slice) -> RoundRecord | tuple[RoundRecord, ...]:
        if isinstance(index, slice):
            return tuple(RoundRecord(*row) for row in self.rows[index])
        return RoundRecord(*self.rows[index])

    def __iter__(self) -> Iterator[RoundRecord]:
        for row in self.rows:
            yield RoundRecord(*row)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RoundLog):
            return self.rows == other.rows
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RoundLog({len(self.rows)} rounds)"
