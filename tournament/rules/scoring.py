"""Match scoring: totals, round wins and the match outcome (with the game's draw band)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from tournament.picklable import by_fields
from tournament.rules.games import Game
from tournament.rules.records import RoundRecord


class MatchOutcome(enum.StrEnum):
    """How a match ended, from player A's side of the pairing."""

    A_WINS = "a"
    B_WINS = "b"
    DRAW = "draw"


@by_fields
@dataclass(frozen=True, slots=True)
class MatchScore:
    """The scored result of a finished match."""

    rounds: int
    total_a: int
    total_b: int
    wins_a: int
    """Rounds where A's payoff exceeded B's."""
    wins_b: int
    draws: int
    """Rounds with equal payoffs."""
    forfeits_a: int
    """Rounds A forfeited (illegal move, budget, or after a trap)."""
    forfeits_b: int
    outcome: MatchOutcome


@dataclass(slots=True)
class MatchTally:
    """Running totals of a match, so the engine can score rounds as they stream in without keeping them."""

    rounds: int = 0
    total_a: int = 0
    total_b: int = 0
    wins_a: int = 0
    wins_b: int = 0
    draws: int = 0
    forfeits_a: int = 0
    forfeits_b: int = 0

    def add(self, record: RoundRecord) -> None:
        self.rounds += 1
        self.total_a += record.payoff_a
        self.total_b += record.payoff_b
        if record.payoff_a > record.payoff_b:
            self.wins_a += 1
        elif record.payoff_b > record.payoff_a:
            self.wins_b += 1
        else:
            self.draws += 1
        self.forfeits_a += record.forfeit_a is not None
        self.forfeits_b += record.forfeit_b is not None

    def score(self, game: Game) -> MatchScore:
        """The result so far; the outcome uses the game's draw band for this many rounds."""
        margin = game.draw_margin(self.rounds)
        difference = self.total_a - self.total_b
        if difference > margin:
            outcome = MatchOutcome.A_WINS
        elif difference < -margin:
            outcome = MatchOutcome.B_WINS
        else:
            outcome = MatchOutcome.DRAW
        return MatchScore(
            rounds=self.rounds,
            total_a=self.total_a,
            total_b=self.total_b,
            wins_a=self.wins_a,
            wins_b=self.wins_b,
            draws=self.draws,
            forfeits_a=self.forfeits_a,
            forfeits_b=self.forfeits_b,
            outcome=outcome,
        )


def score_match(game: Game, rounds: Iterable[RoundRecord]) -> MatchScore:
    """Score a finished match from its round records (payoffs are taken as recorded, not recomputed)."""
    tally = MatchTally()
    for record in rounds:
        tally.add(record)
    return tally.score(game)
