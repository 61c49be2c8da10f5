"""Standings: points, ranking rule per game, competition ranks, determinism."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from tournament.rules import (
    IPD,
    RPS,
    Game,
    MatchOutcome,
    MatchScore,
    MatchSummary,
    Standing,
    compute_standings,
)

NAMES = ["alpha", "beta", "gamma", "delta", "eps"]


def score(
    total_a: int, total_b: int, outcome: MatchOutcome, rounds: int = 10, forfeits_a: int = 0
) -> MatchScore:
    return MatchScore(
        rounds=rounds,
        total_a=total_a,
        total_b=total_b,
        wins_a=0,
        wins_b=0,
        draws=rounds,
        forfeits_a=forfeits_a,
        forfeits_b=0,
        outcome=outcome,
    )


@st.composite
def summaries(draw: st.DrawFn) -> list[MatchSummary]:
    result = []
    for _ in range(draw(st.integers(0, 20))):
        a, b = draw(st.sampled_from(NAMES)), draw(st.sampled_from(NAMES))
        rounds = draw(st.integers(0, 50))
        total_a, total_b = draw(st.integers(-50, 250)), draw(st.integers(-50, 250))
        result.append(
            MatchSummary(a, b, score(total_a, total_b, draw(st.sampled_from(MatchOutcome)), rounds))
        )
    return result


games = st.sampled_from([RPS, IPD])


@given(games, summaries())
def test_points_sum_to_two_per_match(game: Game, matches: list[MatchSummary]) -> None:
    table = compute_standings(game, matches)
    played = [m for m in matches if m.strategy_a != m.strategy_b]
    assert sum(s.points for s in table) == 2 * len(played)
    assert sum(s.matches for s in table) == 2 * len(played)
    for s in table:
        assert s.wins + s.draws + s.losses == s.matches
        assert s.points == 2 * s.wins + s.draws


@given(games, summaries())
def test_ranks_are_competition_ranks(game: Game, matches: list[MatchSummary]) -> None:
    table = compute_standings(game, matches, NAMES)
    assert sorted(s.strategy for s in table) == sorted(NAMES)
    ranks = [s.rank for s in table]
    assert ranks == sorted(ranks)
    assert not table or ranks[0] == 1
    for position, s in enumerate(table, start=1):
        assert s.rank <= position
        # A rank is either the position or shared with the line above.
        assert s.rank == position or s.rank == table[position - 2].rank


@given(games, summaries(), st.randoms(use_true_random=False))
def test_order_independent_of_input_order(
    game: Game, matches: list[MatchSummary], rng: random.Random
) -> None:
    shuffled = list(matches)
    rng.shuffle(shuffled)
    names = list(NAMES)
    rng.shuffle(names)
    assert compute_standings(game, shuffled, names) == compute_standings(game, matches, NAMES)


def test_match_points_ranking() -> None:
    matches = [
        MatchSummary("a", "b", score(10, -10, MatchOutcome.A_WINS)),
        MatchSummary("c", "a", score(1, -1, MatchOutcome.DRAW, forfeits_a=3)),
        MatchSummary("b", "c", score(0, 0, MatchOutcome.DRAW)),
        MatchSummary("a", "a", score(5, -5, MatchOutcome.A_WINS)),  # self-play: ignored
    ]
    table = compute_standings(RPS, matches, ["d"])
    assert [(s.rank, s.strategy, s.points, s.total_payoff) for s in table] == [
        (1, "a", 3, 9),
        (2, "c", 2, 1),
        (3, "b", 1, -10),
        (4, "d", 0, 0),
    ]
    a = table[0]
    assert (a.matches, a.wins, a.draws, a.losses, a.rounds, a.mean_payoff) == (2, 1, 1, 0, 20, 0.45)
    assert table[1].forfeits == 3
    assert table[3] == Standing(
        rank=4,
        strategy="d",
        matches=0,
        points=0,
        wins=0,
        draws=0,
        losses=0,
        total_payoff=0,
        rounds=0,
        mean_payoff=0.0,
        forfeits=0,
    )


def test_shared_ranks_and_name_tiebreak() -> None:
    matches = [
        MatchSummary("z", "y", score(0, 0, MatchOutcome.DRAW)),
        MatchSummary("x", "w", score(0, 0, MatchOutcome.DRAW)),
        MatchSummary("v", "u", score(5, 0, MatchOutcome.A_WINS)),
    ]
    table = compute_standings(RPS, matches)
    assert [(s.rank, s.strategy) for s in table] == [
        (1, "v"),
        (2, "w"),
        (2, "x"),
        (2, "y"),
        (2, "z"),
        (6, "u"),
    ]


def test_mean_payoff_ranking() -> None:
    # IPD: "a" has more points but a lower mean payoff per round.
    matches = [
        MatchSummary("a", "b", score(400, 390, MatchOutcome.A_WINS, rounds=200)),
        MatchSummary("b", "c", score(600, 600, MatchOutcome.DRAW, rounds=200)),
        MatchSummary("a", "c", score(201, 200, MatchOutcome.A_WINS, rounds=200)),
    ]
    table = compute_standings(IPD, matches)
    assert [(s.rank, s.strategy, s.mean_payoff) for s in table] == [
        (1, "b", 2.475),
        (2, "c", 2.0),
        (3, "a", 1.5025),
    ]
    assert table[2].points == 4


def test_mean_payoff_is_rounded() -> None:
    table = compute_standings(IPD, [MatchSummary("a", "b", score(1, 2, MatchOutcome.B_WINS, rounds=3))])
    assert [s.mean_payoff for s in table] == [0.666667, 0.333333]


def test_self_play_only_strategy_is_listed_with_zeros() -> None:
    table = compute_standings(RPS, [MatchSummary("solo", "solo", score(3, -3, MatchOutcome.A_WINS))])
    rows = [(s.strategy, s.matches, s.points, s.total_payoff, s.rounds) for s in table]
    assert rows == [("solo", 0, 0, 0, 0)]
