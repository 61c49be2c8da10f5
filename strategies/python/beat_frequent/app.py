# strategy: beat-frequent
# games: rps, rpsls
# description: Beats the opponent's most frequent move so far (ties go to the later move in the list).
#
# "Beat Frequent Pick" (freqbot2) from the RoShamBo test suite (rsb-ts1.c, 1999), generalised to n moves:
# counts every recorded opponent move, earlier meetings included, and plays what beats the most frequent.
# Written in Python (componentize-py, --stub-wasi) as the example of a second guest language.
"""The beat-frequent strategy: a componentize-py guest implementing `tournament:strategy/player`."""

from __future__ import annotations

from dataclasses import dataclass, field

from wit_world import exports
from wit_world.imports import types


@dataclass
class Memory:
    """What the strategy remembers between calls (one component instance plays one match)."""

    counts: list[int] = field(default_factory=list)
    """How often the opponent played each move."""
    skip_last: bool = False
    """After a restart, the next `last` is this match's previous round, already counted from the history."""

    def count(self, result: types.RoundResult) -> None:
        move = result.their_move  # None when the opponent forfeited the round: nothing to count
        if move is not None and 0 <= move < len(self.counts):
            self.counts[move] += 1


# componentize-py creates a new Player for every call, so the state lives in the module.
MEMORY = Memory()


class Player(exports.Player):
    """The exported `player` interface."""

    def begin(self, setup: types.MatchSetup) -> None:
        MEMORY.counts = [0] * len(setup.moves)
        for result in setup.history:
            MEMORY.count(result)
        MEMORY.skip_last = setup.first_round > 0 and bool(setup.history)

    def next_move(self, last: types.RoundResult | None) -> int:
        if last is not None and not MEMORY.skip_last:
            MEMORY.count(last)
        MEMORY.skip_last = False
        counts = MEMORY.counts
        # The most frequent move, ties to the highest index: what freqbot2's comparisons amount to for rps.
        favourite = max(range(len(counts)), key=lambda move: (counts[move], move))
        return (favourite + 1) % len(counts)  # in the rock-paper-scissors family, (m + 1) % n beats m
