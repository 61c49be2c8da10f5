"""CSV exports with a header row and a stable order, so results can be diffed and analysed anywhere."""

from __future__ import annotations

import csv
from typing import TextIO

from tournament.persistence import tournaments as tournament_repo
from tournament.persistence.database import Database
from tournament.rules.games import get_game
from tournament.rules.head_to_head import HeadToHead
from tournament.rules.standings import Standing

ROUND_COLUMNS = (
    "match_id", "repetition", "round", "player_a", "player_b", "move_a", "move_b", "payoff_a", "payoff_b",
    "noise_a", "noise_b", "forfeit_a", "forfeit_b", "fuel_a", "fuel_b",
)  # fmt: skip
"""`match_id` is the match's number within its tournament (from 1), so exports of two runs diff cleanly."""

STANDING_COLUMNS = (
    "rank", "strategy", "matches", "points", "wins", "draws", "losses", "total_payoff", "rounds",
    "mean_payoff", "forfeits",
)  # fmt: skip


def write_rounds_csv(db: Database, tournament_id: int, out: TextIO) -> int:
    """Every round of a tournament, ordered by match then round; moves by label. Returns the row count."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ROUND_COLUMNS)
    count = 0
    with db.sessions() as session:
        info = tournament_repo.get_tournament(session, tournament_id)
        labels = get_game(info.game).moves
        numbers = {m.match_id: m.position + 1 for m in tournament_repo.list_matches(session, tournament_id)}
        for row in tournament_repo.iter_export_rows(session, tournament_id):
            writer.writerow((
                numbers[row.match_id], row.repetition, row.round, row.player_a, row.player_b,
                "" if row.move_a is None else labels[row.move_a],
                "" if row.move_b is None else labels[row.move_b],
                row.payoff_a, row.payoff_b, int(row.noise_a), int(row.noise_b),
                row.forfeit_a or "", row.forfeit_b or "", row.fuel_a, row.fuel_b,
            ))  # fmt: skip
            count += 1
    return count


def write_standings_csv(standings: list[Standing], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(STANDING_COLUMNS)
    for s in standings:
        writer.writerow([getattr(s, column) for column in STANDING_COLUMNS])


HEAD_TO_HEAD_COLUMNS = (
    "strategy", "opponent", "matches", "wins", "draws", "losses", "payoff", "opponent_payoff", "rounds",
    "mean_payoff",
)  # fmt: skip


def write_head_to_head_csv(matrix: HeadToHead, out: TextIO) -> None:
    """One row per ordered pair that met (both orientations), rows in strategy order."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEAD_TO_HEAD_COLUMNS)
    for cell in matrix.cells:
        writer.writerow([getattr(cell, column) for column in HEAD_TO_HEAD_COLUMNS])
