"""Ratings across tournaments: a Bayesian skill rating (openskill's Plackett-Luce) per strategy and game.

Ratings are rebuilt by replaying every finished match of the game in match id order, so rebuilding always
gives the same numbers. Versions of a strategy share its rating (authors improve a strategy over time).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from openskill.models import PlackettLuce, PlackettLuceRating

from tournament.persistence.database import Database
from tournament.persistence.results import MatchOutcomeRow, finished_outcomes
from tournament.rules.games import get_game

DISPLAY_SIGMAS = 3
"""The conservative display rating is mu - 3 sigma (as Halite and TrueSkill leaderboards show)."""


@dataclass(frozen=True, slots=True)
class Rating:
    rank: int
    strategy: str
    mu: float
    sigma: float
    display: float
    """mu - 3 sigma: with high confidence the true skill is above this."""
    matches: int
    wins: int
    draws: int
    losses: int


def rate_matches(matches: Iterable[MatchOutcomeRow]) -> list[Rating]:
    """Replay matches in the given order; ranked by display rating, then name."""
    model = PlackettLuce()
    ratings: dict[str, PlackettLuceRating] = {}
    results: dict[str, list[int]] = {}
    for match in matches:
        if match.strategy_a == match.strategy_b:
            continue
        a = ratings.get(match.strategy_a) or model.rating(name=match.strategy_a)
        b = ratings.get(match.strategy_b) or model.rating(name=match.strategy_b)
        ranks: list[float] = {"a": [0.0, 1.0], "b": [1.0, 0.0]}.get(match.outcome, [0.0, 0.0])
        [[new_a], [new_b]] = model.rate([[a], [b]], ranks=ranks)
        ratings[match.strategy_a], ratings[match.strategy_b] = new_a, new_b
        for name, column in ((match.strategy_a, {"a": 0, "b": 2}), (match.strategy_b, {"b": 0, "a": 2})):
            counts = results.setdefault(name, [0, 0, 0])
            counts[column.get(match.outcome, 1)] += 1
    ordered = sorted(
        ratings.items(), key=lambda item: (-(item[1].mu - DISPLAY_SIGMAS * item[1].sigma), item[0])
    )
    board = []
    for rank, (name, rating) in enumerate(ordered, start=1):
        wins, draws, losses = results[name]
        display = rating.mu - DISPLAY_SIGMAS * rating.sigma
        board.append(
            Rating(
                rank=rank,
                strategy=name,
                mu=round(rating.mu, 6),
                sigma=round(rating.sigma, 6),
                display=round(display, 6),
                matches=wins + draws + losses,
                wins=wins,
                draws=draws,
                losses=losses,
            )
        )
    return board


def leaderboard(db: Database, game: str) -> list[Rating]:
    """Ratings of every strategy that finished a match of `game`, best first."""
    get_game(game)
    with db.sessions() as session:
        return rate_matches(finished_outcomes(session, game))
