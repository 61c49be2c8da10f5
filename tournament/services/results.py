"""Reading results: head-to-head matrices and match replays."""

from __future__ import annotations

from dataclasses import dataclass

from tournament.persistence import results as results_repo
from tournament.persistence import tournaments as tournament_repo
from tournament.persistence.database import Database
from tournament.persistence.results import MatchDetail
from tournament.rules.games import get_game
from tournament.rules.head_to_head import HeadToHead, head_to_head
from tournament.rules.records import RoundRecord
from tournament.rules.standings import MatchSummary


def tournament_head_to_head(db: Database, tournament_id: int) -> HeadToHead:
    with db.sessions() as session:
        info = tournament_repo.get_tournament(session, tournament_id)
        summaries = [
            MatchSummary(a, b, score)
            for a, b, score in tournament_repo.match_summaries(session, tournament_id)
        ]
    return head_to_head(summaries, [p.name for p in info.participants])


@dataclass(frozen=True, slots=True)
class MatchReplay:
    detail: MatchDetail
    moves: tuple[str, ...]
    """The game's move labels, to show moves by name."""
    rounds: tuple[RoundRecord, ...]
    offset: int


def match_replay(db: Database, match_id: int, *, offset: int = 0, limit: int | None = None) -> MatchReplay:
    """A match with a page of its rounds (all of them without a limit)."""
    with db.sessions() as session:
        detail = results_repo.match_detail(session, match_id)
        rounds = results_repo.match_rounds(session, match_id, offset=offset, limit=limit)
    return MatchReplay(detail, get_game(detail.game).moves, tuple(rounds), offset)
