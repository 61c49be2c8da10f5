"""Scoring one round and applying noise; the match controller owns the RNG and calls these."""

from __future__ import annotations

import random

from tournament.rules.games import Game


def score_round(game: Game, move_a: int | None, move_b: int | None) -> tuple[int, int]:
    """(payoff A, payoff B); None is a forfeit: the forfeiter gets the table's worst, the other its best.

    Raises IllegalMoveError for a non-None illegal move: the caller must turn those into forfeits first.
    """
    loser, winner = game.forfeit_payoffs
    if move_a is None:
        if move_b is None:
            return loser, loser
        game.payoff(0, move_b)  # only to validate B's move (0 is always legal)
        return loser, winner
    if move_b is None:
        game.payoff(move_a, 0)
        return winner, loser
    return game.payoff(move_a, move_b)


def apply_noise(game: Game, move: int, rng: random.Random, probability: float) -> tuple[int, bool]:
    """(move actually played, whether noise flipped it) with a fixed RNG pattern so replays are bit-exact.

    Exactly one ``rng.random()`` decides; only when it flips, one more picks uniformly among the other
    n - 1 moves. ``random()`` is used instead of randrange/choice because its output is stable across Python
    versions. Raises ValueError for a probability outside [0, 1] and IllegalMoveError for an illegal move.
    """
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"noise probability must be in [0, 1], got {probability!r}")
    game.label(move)  # raises IllegalMoveError
    if rng.random() >= probability:
        return move, False
    other = int(rng.random() * (game.n_moves - 1))
    return (other if other < move else other + 1), True
