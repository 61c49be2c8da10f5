"""Read-side queries for results: finished match outcomes in rating order, and one match with its rounds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tournament.persistence.errors import UnknownMatchError
from tournament.persistence.models import Match, Round, Tournament
from tournament.persistence.tournaments import names_query, round_columns, round_record
from tournament.rules.records import RoundRecord


@dataclass(frozen=True, slots=True)
class MatchOutcomeRow:
    """A finished match as the rating model sees it."""

    match_id: int
    tournament_id: int
    strategy_a: str
    strategy_b: str
    outcome: str
    """'a', 'b' or 'draw'."""


@dataclass(frozen=True, slots=True)
class MatchDetail:
    match_id: int
    tournament_id: int
    game: str
    position: int
    repetition: int
    seed: int
    status: str
    strategy_a: str
    strategy_b: str
    version_a: str
    version_b: str
    outcome: str | None
    rounds_played: int | None
    total_a: int | None
    total_b: int | None
    forfeit_reason_a: str | None
    forfeit_reason_b: str | None
    detail_a: str | None
    detail_b: str | None
    finished_at: datetime | None


def finished_outcomes(session: Session, game: str) -> Iterator[MatchOutcomeRow]:
    """Every finished match of a game's tournaments, in match id order: the fixed order ratings replay."""
    version_a, version_b, strategy_a, strategy_b = names_query()
    query = (
        select(Match.id, Match.tournament_id, strategy_a.name, strategy_b.name, Match.outcome)
        .join(Tournament, Tournament.id == Match.tournament_id)
        .join(version_a, Match.version_a_id == version_a.id)
        .join(strategy_a, version_a.strategy_id == strategy_a.id)
        .join(version_b, Match.version_b_id == version_b.id)
        .join(strategy_b, version_b.strategy_id == strategy_b.id)
        .where(Tournament.game == game, Match.status == "finished", Match.outcome.is_not(None))
        .order_by(Match.id)
        .execution_options(yield_per=2000)
    )
    for match_id, tournament_id, name_a, name_b, outcome in session.execute(query):
        yield MatchOutcomeRow(match_id, tournament_id, name_a, name_b, outcome or "draw")


def match_detail(session: Session, match_id: int) -> MatchDetail:
    version_a, version_b, strategy_a, strategy_b = names_query()
    row = session.execute(
        select(Match, Tournament.game, strategy_a.name, strategy_b.name, version_a.version, version_b.version)
        .join(Tournament, Tournament.id == Match.tournament_id)
        .join(version_a, Match.version_a_id == version_a.id)
        .join(strategy_a, version_a.strategy_id == strategy_a.id)
        .join(version_b, Match.version_b_id == version_b.id)
        .join(strategy_b, version_b.strategy_id == strategy_b.id)
        .where(Match.id == match_id)
    ).first()
    if row is None:
        raise UnknownMatchError(f"no match with id {match_id}")
    match, game, name_a, name_b, label_a, label_b = row
    return MatchDetail(
        match_id=match.id,
        tournament_id=match.tournament_id,
        game=game,
        position=match.position,
        repetition=match.repetition,
        seed=match.seed,
        status=match.status,
        strategy_a=name_a,
        strategy_b=name_b,
        version_a=label_a,
        version_b=label_b,
        outcome=match.outcome,
        rounds_played=match.rounds_played,
        total_a=match.total_a,
        total_b=match.total_b,
        forfeit_reason_a=match.forfeit_reason_a,
        forfeit_reason_b=match.forfeit_reason_b,
        detail_a=match.detail_a,
        detail_b=match.detail_b,
        finished_at=match.finished_at,
    )


def match_rounds(
    session: Session, match_id: int, *, offset: int = 0, limit: int | None = None
) -> list[RoundRecord]:
    """A page of a match's rounds, in order."""
    query = (
        select(Round.round, *round_columns())
        .where(Round.match_id == match_id)
        .order_by(Round.round)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return [round_record(*row) for row in session.execute(query)]
