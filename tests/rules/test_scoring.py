"""Match scoring: totals, round W/D/L, forfeits and the outcome with the game's draw band."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tournament.rules import (
    IPD,
    RPS,
    ForfeitReason,
    Game,
    MatchOutcome,
    MatchScore,
    MatchTally,
    RoundRecord,
    builtin_games,
    score_match,
    score_round,
)

GAMES = list(builtin_games().values())
MIRROR = {
    MatchOutcome.A_WINS: MatchOutcome.B_WINS,
    MatchOutcome.B_WINS: MatchOutcome.A_WINS,
    MatchOutcome.DRAW: MatchOutcome.DRAW,
}


@st.composite
def matches(draw: st.DrawFn, game: Game | None = None) -> tuple[Game, list[RoundRecord]]:
    """A game and a plausible round history, including forfeits."""
    game = game or draw(st.sampled_from(GAMES))
    move = st.one_of(st.none(), st.integers(0, game.n_moves - 1))
    n = draw(st.integers(0, 60))
    records = []
    for index in range(n):
        a, b = draw(move), draw(move)
        pa, pb = score_round(game, a, b)
        records.append(
            RoundRecord(
                index=index,
                move_a=a,
                move_b=b,
                payoff_a=pa,
                payoff_b=pb,
                forfeit_a=None if a is not None else ForfeitReason.ILLEGAL_MOVE,
                forfeit_b=None if b is not None else ForfeitReason.FUEL,
            )
        )
    return game, records


def rps_round(index: int, a: int, b: int) -> RoundRecord:
    pa, pb = RPS.payoff(a, b)
    return RoundRecord(index=index, move_a=a, move_b=b, payoff_a=pa, payoff_b=pb)


@given(matches())
def test_totals_and_round_counts(match: tuple[Game, list[RoundRecord]]) -> None:
    game, records = match
    score = score_match(game, records)
    assert score.rounds == len(records)
    assert score.total_a == sum(r.payoff_a for r in records)
    assert score.total_b == sum(r.payoff_b for r in records)
    assert score.wins_a + score.wins_b + score.draws == score.rounds
    assert score.wins_a == sum(r.payoff_a > r.payoff_b for r in records)
    assert score.forfeits_a == sum(r.forfeit_a is not None for r in records)
    assert score.forfeits_b == sum(r.forfeit_b is not None for r in records)


@given(matches())
def test_swapping_players_mirrors_the_score(match: tuple[Game, list[RoundRecord]]) -> None:
    game, records = match
    score = score_match(game, records)
    mirrored = score_match(game, (r.swapped() for r in records))
    assert mirrored == MatchScore(
        rounds=score.rounds,
        total_a=score.total_b,
        total_b=score.total_a,
        wins_a=score.wins_b,
        wins_b=score.wins_a,
        draws=score.draws,
        forfeits_a=score.forfeits_b,
        forfeits_b=score.forfeits_a,
        outcome=MIRROR[score.outcome],
    )


@given(matches())
def test_tally_equals_score_match(match: tuple[Game, list[RoundRecord]]) -> None:
    game, records = match
    tally = MatchTally()
    for record in records:
        tally.add(record)
    assert tally.score(game) == score_match(game, records)


@given(matches())
def test_outcome_respects_draw_band(match: tuple[Game, list[RoundRecord]]) -> None:
    game, records = match
    score = score_match(game, records)
    difference = score.total_a - score.total_b
    margin = game.draw_margin(score.rounds)
    if score.outcome is MatchOutcome.A_WINS:
        assert difference > margin
    elif score.outcome is MatchOutcome.B_WINS:
        assert difference < -margin
    else:
        assert abs(difference) <= margin


def test_empty_match_is_a_draw() -> None:
    for game in GAMES:
        assert score_match(game, []).outcome is MatchOutcome.DRAW


def test_rps_draw_band() -> None:
    # 1000 rounds: the band is 101.2 on total_a - total_b, i.e. A needs 51 more round wins than losses.
    def match(wins: int) -> MatchScore:
        rounds = [rps_round(i, 1, 0) for i in range(wins)]
        rounds += [rps_round(i, 0, 0) for i in range(wins, 1000)]
        return score_match(RPS, rounds)

    assert match(50).outcome is MatchOutcome.DRAW
    assert match(51).outcome is MatchOutcome.A_WINS
    assert match(51).total_a == 51
    assert match(51).wins_a == 51
    assert match(51).draws == 949
    lost = score_match(RPS, [rps_round(i, 0, 1) for i in range(1000)])
    assert lost.outcome is MatchOutcome.B_WINS
    assert lost.total_a == -1000


def test_ipd_has_no_draw_band() -> None:
    def record(a: int, b: int) -> RoundRecord:
        pa, pb = IPD.payoff(a, b)
        return RoundRecord(index=0, move_a=a, move_b=b, payoff_a=pa, payoff_b=pb)

    one_defection = [record(0, 0)] * 199 + [record(1, 0)]
    assert score_match(IPD, one_defection).outcome is MatchOutcome.A_WINS
    assert score_match(IPD, [record(0, 0)] * 200).outcome is MatchOutcome.DRAW
    assert score_match(IPD, [record(1, 1)] * 10).total_a == 10


def test_forfeits_are_counted() -> None:
    records = [
        RoundRecord(index=0, move_a=None, move_b=0, payoff_a=-1, payoff_b=1, forfeit_a=ForfeitReason.TIMEOUT),
        RoundRecord(
            index=1,
            move_a=None,
            move_b=None,
            payoff_a=-1,
            payoff_b=-1,
            forfeit_a=ForfeitReason.TRAP,
            forfeit_b=ForfeitReason.TRAP,
        ),
    ]
    score = score_match(RPS, records)
    assert (score.forfeits_a, score.forfeits_b) == (2, 1)
    assert (score.wins_a, score.wins_b, score.draws) == (0, 1, 1)
    assert (score.total_a, score.total_b) == (-2, 0)


@pytest.mark.parametrize("game", GAMES, ids=lambda g: g.name)
def test_tally_scores_so_far(game: Game) -> None:
    tally = MatchTally()
    assert tally.score(game).rounds == 0
    pa, pb = game.payoff(0, 1)
    tally.add(RoundRecord(index=0, move_a=0, move_b=1, payoff_a=pa, payoff_b=pb))
    assert tally.score(game).total_a == pa
    assert tally.rounds == 1
