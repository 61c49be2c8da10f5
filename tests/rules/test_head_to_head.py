"""The head-to-head matrix is consistent in both orientations and with the standings."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tournament.rules.games import RPS
from tournament.rules.head_to_head import head_to_head
from tournament.rules.scoring import MatchOutcome, MatchScore
from tournament.rules.standings import MatchSummary, compute_standings

NAMES = ["a", "b", "c", "d"]


@st.composite
def summaries(draw: st.DrawFn) -> MatchSummary:
    a, b = draw(st.permutations(NAMES))[:2]
    total_a = draw(st.integers(-100, 100))
    outcome = draw(st.sampled_from(list(MatchOutcome)))
    score = MatchScore(100, total_a, -total_a, 0, 0, 0, 0, 0, outcome)
    return MatchSummary(a, b, score)


@given(st.lists(summaries(), max_size=30))
def test_each_cell_mirrors_its_opposite(matches: list[MatchSummary]) -> None:
    matrix = head_to_head(matches)
    for cell in matrix.cells:
        opposite = matrix.cell(cell.opponent, cell.strategy)
        assert opposite is not None
        assert (cell.wins, cell.draws, cell.losses) == (opposite.losses, opposite.draws, opposite.wins)
        assert (cell.payoff, cell.opponent_payoff) == (opposite.opponent_payoff, opposite.payoff)
        assert cell.matches == opposite.matches == cell.wins + cell.draws + cell.losses


@given(st.lists(summaries(), max_size=30))
def test_rows_add_up_to_the_standings(matches: list[MatchSummary]) -> None:
    matrix = head_to_head(matches, NAMES)
    for standing in compute_standings(RPS, matches, NAMES):
        row = [c for c in matrix.cells if c.strategy == standing.strategy]
        assert sum(c.wins for c in row) == standing.wins
        assert sum(c.losses for c in row) == standing.losses
        assert sum(c.payoff for c in row) == standing.total_payoff


def test_self_play_is_ignored_and_unmet_pairs_have_no_cell() -> None:
    score = MatchScore(10, 5, -5, 5, 0, 5, 0, 0, MatchOutcome.A_WINS)
    matrix = head_to_head([MatchSummary("a", "a", score), MatchSummary("a", "b", score)], ["a", "b", "c"])
    assert matrix.strategies == ("a", "b", "c")
    assert matrix.cell("a", "a") is None
    assert matrix.cell("a", "c") is None
    cell = matrix.cell("a", "b")
    assert cell is not None
    assert (cell.wins, cell.payoff, cell.mean_payoff) == (1, 5, 0.5)
