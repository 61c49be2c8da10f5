"""Small read queries the pages need and no service offers yet: a tournament's match list and its progress.

They are cheap (indexed by tournament id) because the live view repeats them every half second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tournament.persistence.errors import UnknownTournamentError
from tournament.persistence.models import Match, Tournament
from tournament.persistence.tournaments import match_counts, names_query


@dataclass(frozen=True, slots=True)
class MatchLine:
    """One match of a tournament as the pages list it (totals are None until it is played)."""

    match_id: int
    position: int
    repetition: int
    strategy_a: str
    strategy_b: str
    status: str
    outcome: str | None
    total_a: int | None
    total_b: int | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Progress:
    """What the live view shows: status, finished/total matches and the latest results."""

    status: str
    finished: int
    total: int
    latest: tuple[MatchLine, ...]


def _lines_query(
    tournament_id: int,
) -> Select[int, int, int, str, str, str, str | None, int | None, int | None, datetime | None]:
    version_a, version_b, strategy_a, strategy_b = names_query()
    return (
        select(
            Match.id,
            Match.position,
            Match.repetition,
            strategy_a.name,
            strategy_b.name,
            Match.status,
            Match.outcome,
            Match.total_a,
            Match.total_b,
            Match.finished_at,
        )
        .join(version_a, Match.version_a_id == version_a.id)
        .join(strategy_a, version_a.strategy_id == strategy_a.id)
        .join(version_b, Match.version_b_id == version_b.id)
        .join(strategy_b, version_b.strategy_id == strategy_b.id)
        .where(Match.tournament_id == tournament_id)
    )


def match_lines(session: Session, tournament_id: int) -> list[MatchLine]:
    """Every match of the tournament in play order."""
    rows = session.execute(_lines_query(tournament_id).order_by(Match.position))
    return [MatchLine(*row) for row in rows]


def progress(session: Session, tournament_id: int, *, latest: int = 8) -> Progress:
    """Status, counts and the `latest` most recently finished matches; UnknownTournamentError if none."""
    status = session.execute(select(Tournament.status).where(Tournament.id == tournament_id)).scalar()
    if status is None:
        raise UnknownTournamentError(f"no tournament with id {tournament_id}")
    finished, total = match_counts(session, tournament_id)
    query = (
        _lines_query(tournament_id)
        .where(Match.status == "finished")
        .order_by(Match.finished_at.desc(), Match.id.desc())
        .limit(latest)
    )
    return Progress(status, finished, total, tuple(MatchLine(*row) for row in session.execute(query)))
