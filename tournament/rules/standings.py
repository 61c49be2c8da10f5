"""Standings over a set of scored matches, ordered by the game's ranking rule."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tournament.rules.games import Game, Ranking
from tournament.rules.scoring import MatchOutcome, MatchScore

WIN_POINTS = 2
DRAW_POINTS = 1


@dataclass(frozen=True, slots=True)
class MatchSummary:
    """One scored match between two named strategies (A and B as in the score)."""

    strategy_a: str
    strategy_b: str
    score: MatchScore


@dataclass(frozen=True, slots=True)
class Standing:
    """One strategy's line in the standings table."""

    rank: int
    """Competition rank ("1224"): strategies with equal ranking keys share a rank."""
    strategy: str
    matches: int
    """Matches played, self-play excluded."""
    points: int
    """Match points: 2 per win, 1 per draw, 0 per loss."""
    wins: int
    draws: int
    losses: int
    total_payoff: int
    rounds: int
    mean_payoff: float
    """total_payoff / rounds rounded to 6 decimals (0.0 without rounds), so output and ties are stable."""
    forfeits: int
    """Rounds this strategy forfeited."""


@dataclass(slots=True)
class _Row:
    matches: int = 0
    points: int = 0
    wins: int = 0
    draws: int = 0
    losses: int = 0
    total_payoff: int = 0
    rounds: int = 0
    forfeits: int = 0

    def add(self, payoff: int, rounds: int, forfeits: int, won: bool, drew: bool) -> None:
        self.matches += 1
        self.total_payoff += payoff
        self.rounds += rounds
        self.forfeits += forfeits
        if won:
            self.wins += 1
            self.points += WIN_POINTS
        elif drew:
            self.draws += 1
            self.points += DRAW_POINTS
        else:
            self.losses += 1


def compute_standings(
    game: Game, matches: Iterable[MatchSummary], strategies: Iterable[str] = ()
) -> list[Standing]:
    """Standings for ``strategies`` plus everyone who played; self-play is ignored, as in Axelrod rankings.

    The order is total (ties broken by name) so the same matches give the same table in any input order.
    """
    rows: dict[str, _Row] = {name: _Row() for name in strategies}
    for match in matches:
        a, b, score = match.strategy_a, match.strategy_b, match.score
        row_a, row_b = rows.setdefault(a, _Row()), rows.setdefault(b, _Row())
        if a == b:
            continue  # still listed, with zeros if this was all it played
        drew = score.outcome is MatchOutcome.DRAW
        row_a.add(score.total_a, score.rounds, score.forfeits_a, score.outcome is MatchOutcome.A_WINS, drew)
        row_b.add(score.total_b, score.rounds, score.forfeits_b, score.outcome is MatchOutcome.B_WINS, drew)

    def mean(row: _Row) -> float:
        return round(row.total_payoff / row.rounds, 6) if row.rounds else 0.0

    def key(name: str) -> tuple[float, int]:
        row = rows[name]
        if game.ranking is Ranking.MEAN_PAYOFF:
            return (-mean(row), -row.total_payoff)
        return (-row.points, -row.total_payoff)

    standings: list[Standing] = []
    previous: tuple[float, int] | None = None
    rank = 0
    for position, name in enumerate(sorted(rows, key=lambda n: (key(n), n)), start=1):
        if key(name) != previous:
            rank, previous = position, key(name)
        row = rows[name]
        standings.append(
            Standing(
                rank=rank,
                strategy=name,
                matches=row.matches,
                points=row.points,
                wins=row.wins,
                draws=row.draws,
                losses=row.losses,
                total_payoff=row.total_payoff,
                rounds=row.rounds,
                mean_payoff=mean(row),
                forfeits=row.forfeits,
            )
        )
    return standings
