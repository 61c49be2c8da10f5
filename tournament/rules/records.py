"""The record of one played round: what the engine persists and what strategies see next round."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
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


@dataclass(frozen=True, slots=True)
class CleanRounds:
    """Consecutive plain rounds from ``first`` (two legal moves, no noise, no forfeit) as the columns
    the native match loop filled: no tuple per round until someone reads them as rows."""

    first: int
    move_a: Sequence[int]
    move_b: Sequence[int]
    payoff_a: Sequence[int]
    payoff_b: Sequence[int]
    fuel_a: Sequence[int]
    fuel_b: Sequence[int]

    def __len__(self) -> int:
        return len(self.move_a)

    def rows(self) -> Iterator[RoundRow]:
        n = len(self.move_a)
        return zip(
            range(self.first, self.first + n), self.move_a, self.move_b, self.payoff_a, self.payoff_b,
            repeat(False, n), repeat(False, n), repeat(None, n), repeat(None, n), self.fuel_a, self.fuel_b,
            strict=True,
        )  # fmt: skip


class RoundLog(Sequence[RoundRecord]):
    """A match's rounds kept as plain tuples or columns: a `RoundRecord` is made only when one is read.

    The match loop appends a row per round (`tail`), after the runs of clean rounds its native loop
    played, kept as that loop's columns (`clean`, rounds 0.. in order); storage packs both as they are,
    so a round costs no objects on the hot path; readers still see an ordinary sequence of records.
    """

    __slots__ = ("_rows", "clean", "tail")

    def __init__(self, rows: list[RoundRow], clean: Sequence[CleanRounds] = ()) -> None:
        self.tail = rows
        """The rounds after the clean runs, as rows."""
        self.clean = tuple(clean)
        """Runs of clean rounds that come before `tail`, in order."""
        self._rows: list[RoundRow] | None = None if self.clean else rows

    @property
    def rows(self) -> list[RoundRow]:
        """Every round as a row (made from the clean runs' columns once, when first asked)."""
        if self._rows is None:
            rows: list[RoundRow] = []
            for run in self.clean:
                rows.extend(run.rows())
            rows.extend(self.tail)
            self._rows = rows
        return self._rows

    def __len__(self) -> int:
        if self._rows is not None:
            return len(self._rows)
        return sum(len(run) for run in self.clean) + len(self.tail)

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

    def __reduce__(self) -> tuple[type[RoundLog], tuple[list[RoundRow], tuple[CleanRounds, ...]]]:
        return RoundLog, (self.tail, self.clean)

    def __repr__(self) -> str:
        return f"RoundLog({len(self)} rounds)"
