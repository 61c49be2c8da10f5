"""Round scoring with forfeits, and noise with a fixed RNG consumption pattern."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tournament.rules import IPD, RPS, RPSLS, Game, IllegalMoveError, apply_noise, builtin_games, score_round

GAMES = list(builtin_games().values())
game_ids = pytest.mark.parametrize("game", GAMES, ids=lambda g: g.name)


@game_ids
def test_score_round_without_forfeits_is_the_payoff(game: Game) -> None:
    for a in range(game.n_moves):
        for b in range(game.n_moves):
            assert score_round(game, a, b) == game.payoff(a, b)


@game_ids
def test_score_round_forfeits(game: Game) -> None:
    loser, winner = game.forfeit_payoffs
    for move in range(game.n_moves):
        assert score_round(game, None, move) == (loser, winner)
        assert score_round(game, move, None) == (winner, loser)
    assert score_round(game, None, None) == (loser, loser)


def test_score_round_forfeit_values() -> None:
    assert score_round(RPS, None, 0) == (-1, 1)
    assert score_round(IPD, 1, None) == (5, 0)
    assert score_round(IPD, None, None) == (0, 0)


@game_ids
def test_score_round_rejects_illegal_moves(game: Game) -> None:
    with pytest.raises(IllegalMoveError, match="player A"):
        score_round(game, game.n_moves, 0)
    with pytest.raises(IllegalMoveError, match="player B"):
        score_round(game, None, -1)
    with pytest.raises(IllegalMoveError, match="player A"):
        score_round(game, 99, None)


# --- noise -------------------------------------------------------------------------------------------------


@given(
    game=st.sampled_from(GAMES),
    seed=st.integers(0, 2**63),
    probability=st.floats(0.0, 1.0),
    data=st.data(),
)
def test_noise_flips_to_a_different_legal_move(
    game: Game, seed: int, probability: float, data: st.DataObject
) -> None:
    move = data.draw(st.integers(0, game.n_moves - 1))
    played, flipped = apply_noise(game, move, random.Random(seed), probability)
    assert game.is_legal(played)
    assert flipped == (played != move)


@given(game=st.sampled_from(GAMES), seed=st.integers(0, 2**63), data=st.data())
def test_probability_bounds(game: Game, seed: int, data: st.DataObject) -> None:
    move = data.draw(st.integers(0, game.n_moves - 1))
    assert apply_noise(game, move, random.Random(seed), 0.0) == (move, False)
    played, flipped = apply_noise(game, move, random.Random(seed), 1.0)
    assert flipped
    assert played != move


@given(seed=st.integers(0, 2**63), probability=st.floats(0.0, 1.0))
def test_noise_consumes_the_rng_in_a_fixed_pattern(seed: int, probability: float) -> None:
    rng = random.Random(seed)
    _, flipped = apply_noise(RPSLS, 2, rng, probability)
    reference = random.Random(seed)
    for _ in range(2 if flipped else 1):
        reference.random()
    assert rng.random() == reference.random()


def test_noise_pick_is_documented_formula() -> None:
    # Pin the exact mapping so replays stay bit-exact: other = int(r * (n - 1)), skipping the move itself.
    for seed in range(200):
        reference = random.Random(seed)
        reference.random()
        other = int(reference.random() * (RPSLS.n_moves - 1))
        expected = other if other < 3 else other + 1
        assert apply_noise(RPSLS, 3, random.Random(seed), 1.0) == (expected, True)


def test_noise_is_deterministic_for_a_seed() -> None:
    def transcript(seed: int) -> list[tuple[int, bool]]:
        rng = random.Random(seed)
        return [apply_noise(RPS, i % 3, rng, 0.3) for i in range(500)]

    assert transcript(7) == transcript(7)
    assert transcript(7) != transcript(8)


@pytest.mark.parametrize("probability", [0.05, 0.25, 0.5])
def test_noise_flips_at_about_the_given_rate(probability: float) -> None:
    rng = random.Random(12345)
    n = 20_000
    played = [apply_noise(RPSLS, 0, rng, probability) for _ in range(n)]
    flips = sum(flipped for _, flipped in played)
    sd = (n * probability * (1 - probability)) ** 0.5
    assert abs(flips - n * probability) < 5 * sd
    # The replacement is uniform over the other moves.
    counts = [sum(1 for move, flipped in played if flipped and move == m) for m in range(1, 5)]
    for count in counts:
        assert abs(count - flips / 4) < 5 * (flips * 0.25 * 0.75) ** 0.5


@pytest.mark.parametrize("probability", [-0.1, 1.1, float("nan"), float("inf")])
def test_noise_rejects_bad_probability(probability: float) -> None:
    with pytest.raises(ValueError, match="probability"):
        apply_noise(RPS, 0, random.Random(0), probability)


def test_noise_rejects_illegal_move() -> None:
    with pytest.raises(IllegalMoveError):
        apply_noise(RPS, 3, random.Random(0), 0.5)
