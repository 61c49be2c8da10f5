"""Round-robin pairing: every unordered pair of distinct participants, once per repetition."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tournament.rules.seeds import derive_seed


@dataclass(frozen=True, slots=True)
class Pairing:
    position: int
    """Order of the match within the tournament (also the export order)."""
    repetition: int
    a: int
    """Index of player A in the participant list."""
    b: int
    seed: int
    """Derived from the tournament seed and the pairing only, so worker count and order never matter."""


def round_robin(names: Sequence[str], *, repetitions: int, seed: int) -> list[Pairing]:
    """Pairings in a stable order: by repetition, then by participant order."""
    if len(set(names)) != len(names):
        raise ValueError("participants must be distinct")
    pairings: list[Pairing] = []
    for repetition in range(repetitions):
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                match_seed = derive_seed(seed, repetition, names[i], names[j])
                pairings.append(Pairing(len(pairings), repetition, i, j, match_seed))
    return pairings
