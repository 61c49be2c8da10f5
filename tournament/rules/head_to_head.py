"""The head-to-head matrix: how each strategy fared against each other one, from the row's side."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tournament.rules.scoring import MatchOutcome
from tournament.rules.standings import MatchSummary


@dataclass(frozen=True, slots=True)
class HeadToHeadCell:
    strategy: str
    """The row strategy."""
    opponent: str
    matches: int
    wins: int
    draws: int
    losses: int
    payoff: int
    """The row strategy's total payoff against this opponent."""
    opponent_payoff: int
    rounds: int

    @property
    def mean_payoff(self) -> float:
        return round(self.payoff / self.rounds, 6) if self.rounds else 0.0


@dataclass(frozen=True, slots=True)
class HeadToHead:
    strategies: tuple[str, ...]
    cells: tuple[HeadToHeadCell, ...]
    """One cell per ordered pair that met, row-major in `strategies` order."""

    def cell(self, strategy: str, opponent: str) -> HeadToHeadCell | None:
        for cell in self.cells:
            if cell.strategy == strategy and cell.opponent == opponent:
                return cell
        return None


def head_to_head(matches: Iterable[MatchSummary], strategies: Iterable[str] = ()) -> HeadToHead:
    """Aggregate matches (over repetitions) into both orientations of every pairing; self-play is ignored."""
    totals: dict[tuple[str, str], list[int]] = {}
    names = set(strategies)
    for match in matches:
        a, b, score = match.strategy_a, match.strategy_b, match.score
        if a == b:
            continue
        names.update((a, b))
        outcome_a = {MatchOutcome.A_WINS: 0, MatchOutcome.DRAW: 1, MatchOutcome.B_WINS: 2}[score.outcome]
        for row, column, own, other, result in (
            (a, b, score.total_a, score.total_b, outcome_a),
            (b, a, score.total_b, score.total_a, 2 - outcome_a),
        ):
            cell = totals.setdefault((row, column), [0, 0, 0, 0, 0, 0, 0])
            cell[0] += 1
            cell[1 + result] += 1
            cell[4] += own
            cell[5] += other
            cell[6] += score.rounds
    order = tuple(sorted(names))
    cells = tuple(
        HeadToHeadCell(row, column, *totals[(row, column)])
        for row in order
        for column in order
        if (row, column) in totals
    )
    return HeadToHead(order, cells)
