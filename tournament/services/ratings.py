"""Ratings across tournaments: a Bayesian skill rating (openskill's Plackett-Luce) per strategy and game.

Ratings are rebuilt by replaying every finished match of the game in match id order, so rebuilding always
gives the same numbers. Versions of a strategy share its rating (authors improve a strategy over time).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from openskill.models import PlackettLuce, PlackettLuceRating

from tournament.persistence.database import Database
from tournament.persistence.results import MatchOutcomeRow, finished_marker, finished_outcomes
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


@dataclass(frozen=True, slots=True)
class RatingPoint:
    """A strategy's rating right after its last match of one tournament, in the replay order."""

    tournament_id: int
    mu: float
    sigma: float
    display: float


@dataclass(frozen=True, slots=True)
class RatingReplay:
    """The result of one replay: the leaderboard and, per strategy, its rating after each tournament."""

    board: tuple[Rating, ...]
    history: dict[str, tuple[RatingPoint, ...]]


def _point(tournament_id: int, rating: PlackettLuceRating) -> RatingPoint:
    display = rating.mu - DISPLAY_SIGMAS * rating.sigma
    return RatingPoint(tournament_id, round(rating.mu, 6), round(rating.sigma, 6), round(display, 6))


def replay_matches(matches: Iterable[MatchOutcomeRow]) -> RatingReplay:
    """Replay matches in the given order; the board is ranked by display rating, then name."""
    model = PlackettLuce()
    ratings: dict[str, PlackettLuceRating] = {}
    results: dict[str, list[int]] = {}
    snapshots: dict[str, dict[int, RatingPoint]] = {}
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
            snapshots.setdefault(name, {})[match.tournament_id] = _point(match.tournament_id, ratings[name])
    ordered = sorted(
        ratings.items(), key=lambda item: (-(item[1].mu - DISPLAY_SIGMAS * item[1].sigma), item[0])
    )
    board = []
    for rank, (name, rating) in enumerate(ordered, start=1):
        wins, draws, losses = results[name]
        point = _point(0, rating)
        board.append(
            Rating(
                rank=rank,
                strategy=name,
                mu=point.mu,
                sigma=point.sigma,
                display=point.display,
                matches=wins + draws + losses,
                wins=wins,
                draws=draws,
                losses=losses,
            )
        )
    history = {name: tuple(points.values()) for name, points in snapshots.items()}
    return RatingReplay(tuple(board), history)


def rate_matches(matches: Iterable[MatchOutcomeRow]) -> list[Rating]:
    """Replay matches in the given order; ranked by display rating, then name."""
    return list(replay_matches(matches).board)


def leaderboard(db: Database, game: str) -> list[Rating]:
    """Ratings of every strategy that finished a match of `game`, best first."""
    get_game(game)
    with db.sessions() as session:
        return rate_matches(finished_outcomes(session, game))


class RatingsCache:
    """Replays per game, reused while no match of the game has been recorded since.

    Replaying is linear in the number of finished matches (about a second per 20,000); the key (count and
    highest id of the game's finished matches) costs one indexed aggregate, so readers pay the replay once
    per change rather than per request. One cache lives as long as one app (its context), never globally.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._replays: dict[str, tuple[tuple[int, int], RatingReplay]] = {}

    def replay(self, db: Database, game: str) -> RatingReplay:
        """The replay of `game`'s finished matches, rebuilt only when they changed."""
        get_game(game)
        with self._lock:
            with db.sessions() as session:
                marker = finished_marker(session, game)
                cached = self._replays.get(game)
                if cached is not None and cached[0] == marker:
                    return cached[1]
                replay = replay_matches(finished_outcomes(session, game))
            self._replays[game] = (marker, replay)
            return replay
