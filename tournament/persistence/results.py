"""Read-side queries for results: finished match outcomes in rating order, and one match with its rounds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.orm import Session

from tournament.persistence import round_blocks
from tournament.persistence.errors import UnknownMatchError, UnknownStrategyError
from tournament.persistence.models import (
    Match,
    RoundBlock,
    Strategy,
    StrategyVersion,
    Tournament,
    TournamentEntry,
)
from tournament.persistence.tournaments import names_query
from tournament.rules.records import RoundRecord

SUM_BATCH = 16
"""Round blocks fetched per round trip when summing a long match's payoffs (under 1 MiB)."""


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
    row = session.execute(_detail_query().where(Match.id == match_id)).first()
    if row is None:
        raise UnknownMatchError(f"no match with id {match_id}")
    return _detail(row)


def match_rounds(
    session: Session, match_id: int, *, offset: int = 0, limit: int | None = None
) -> list[RoundRecord]:
    """A page of a match's rounds, in order, skipping the first ``offset``.

    Reads the block list first (no data), then the data of only the blocks that overlap the page: a page
    deep into a long match costs one or two blocks, not everything before it.
    """
    if limit is not None and limit <= 0:
        return []
    spans = session.execute(
        select(RoundBlock.first_round, RoundBlock.rounds)
        .where(RoundBlock.match_id == match_id)
        .order_by(RoundBlock.first_round)
    ).all()
    stop = None if limit is None else offset + limit
    page: list[int] = []  # first_round of each block that overlaps the page
    skipped = 0
    position = 0
    for first_round, rounds in spans:
        if position + rounds > offset and (stop is None or position < stop):
            if not page:
                skipped = position
            page.append(first_round)
        position += rounds
    if not page:
        return []
    blocks = session.execute(
        select(RoundBlock.first_round, RoundBlock.rounds, RoundBlock.width, RoundBlock.data)
        .where(RoundBlock.match_id == match_id, RoundBlock.first_round.between(page[0], page[-1]))
        .order_by(RoundBlock.first_round)
    )
    rows = [row for block in blocks for row in round_blocks.decode(round_blocks.Block(*block))]
    start = offset - skipped
    return [RoundRecord(*row) for row in rows[start : None if limit is None else start + limit]]


@dataclass(frozen=True, slots=True)
class TournamentRow:
    """A tournament as listed: its settings, how many take part and how far it got."""

    id: int
    game: str
    rounds: int
    repetitions: int
    seed: int
    noise: float
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    participants: int
    matches_finished: int
    matches_total: int


def tournament_page(
    session: Session, *, game: str | None, status: str | None, limit: int, offset: int
) -> tuple[int, list[TournamentRow]]:
    """(total, one page) of tournaments, newest first; counts come from one grouped query per page."""
    filters = []
    if game is not None:
        filters.append(Tournament.game == game)
    if status is not None:
        filters.append(Tournament.status == status)
    total = session.execute(select(func.count()).select_from(Tournament).where(*filters)).scalar_one()
    rows = list(
        session.scalars(
            select(Tournament).where(*filters).order_by(Tournament.id.desc()).limit(limit).offset(offset)
        )
    )
    ids = [row.id for row in rows]
    entrants: dict[int, int] = {}
    progress: dict[int, tuple[int, int]] = {}
    if ids:
        entrants = {
            tid: int(count)
            for tid, count in session.execute(
                select(TournamentEntry.tournament_id, func.count())
                .where(TournamentEntry.tournament_id.in_(ids))
                .group_by(TournamentEntry.tournament_id)
            )
        }
        progress = {
            tid: (int(finished), int(count))
            for tid, finished, count in session.execute(
                select(Match.tournament_id, func.count().filter(Match.status == "finished"), func.count())
                .where(Match.tournament_id.in_(ids))
                .group_by(Match.tournament_id)
            )
        }
    return int(total), [
        TournamentRow(
            id=row.id,
            game=row.game,
            rounds=row.rounds,
            repetitions=row.repetitions,
            seed=row.seed,
            noise=row.noise,
            status=row.status,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            participants=entrants.get(row.id, 0),
            matches_finished=progress.get(row.id, (0, 0))[0],
            matches_total=progress.get(row.id, (0, 0))[1],
        )
        for row in rows
    ]


def _detail_query() -> Select[Match, str, str, str, str, str]:
    version_a, version_b, strategy_a, strategy_b = names_query()
    return (
        select(Match, Tournament.game, strategy_a.name, strategy_b.name, version_a.version, version_b.version)
        .join(Tournament, Tournament.id == Match.tournament_id)
        .join(version_a, Match.version_a_id == version_a.id)
        .join(strategy_a, version_a.strategy_id == strategy_a.id)
        .join(version_b, Match.version_b_id == version_b.id)
        .join(strategy_b, version_b.strategy_id == strategy_b.id)
    )


def _detail(row: Row[Match, str, str, str, str, str]) -> MatchDetail:
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


def match_page(
    session: Session, tournament_id: int, *, strategy: str | None, limit: int, offset: int
) -> tuple[int, list[MatchDetail]]:
    """(total, one page) of a tournament's matches by position, optionally those `strategy` played in."""
    query = _detail_query().where(Match.tournament_id == tournament_id)
    if strategy is not None:
        versions = select(StrategyVersion.id).join(Strategy).where(Strategy.name == strategy)
        query = query.where(or_(Match.version_a_id.in_(versions), Match.version_b_id.in_(versions)))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    page = session.execute(query.order_by(Match.position).limit(limit).offset(offset))
    return int(total), [_detail(row) for row in page]


def rounds_before(session: Session, match_id: int, offset: int) -> tuple[int, int, int]:
    """(rounds stored, A's and B's payoff summed over the first `offset` rounds): running scores at a page.

    The payoffs are summed a block column at a time (`round_blocks.column`), never a Python object per
    round, and blocks are streamed: a page deep into a long match keeps memory flat.
    """
    count = session.execute(
        select(func.coalesce(func.sum(RoundBlock.rounds), 0)).where(RoundBlock.match_id == match_id)
    ).scalar_one()
    score_a = score_b = 0
    remaining = offset
    if remaining > 0:
        earlier = session.execute(
            select(RoundBlock.first_round, RoundBlock.rounds, RoundBlock.width, RoundBlock.data)
            .where(RoundBlock.match_id == match_id)
            .order_by(RoundBlock.first_round)
            .execution_options(yield_per=SUM_BATCH)
        )
        for row in earlier:
            block = round_blocks.Block(*row)
            score_a += sum(round_blocks.column(block, "payoff_a")[:remaining])
            score_b += sum(round_blocks.column(block, "payoff_b")[:remaining])
            remaining -= block.rounds
            if remaining <= 0:
                break
        earlier.close()
    return int(count), score_a, score_b


def finished_marker(session: Session, game: str) -> tuple[int, int]:
    """(count, max id) of a game's finished matches: changes whenever a match of the game is recorded."""
    count, highest = session.execute(
        select(func.count(Match.id), func.coalesce(func.max(Match.id), 0))
        .join(Tournament, Tournament.id == Match.tournament_id)
        .where(Tournament.game == game, Match.status == "finished", Match.outcome.is_not(None))
    ).one()
    return int(count), int(highest)


@dataclass(frozen=True, slots=True)
class EntryRow:
    """A tournament a strategy took part in, with the version it played."""

    tournament_id: int
    version: str
    status: str
    finished_at: datetime | None


def strategy_entries(session: Session, name: str, game: str) -> list[EntryRow]:
    """The strategy's tournaments of `game`, oldest first; UnknownStrategyError if there is no such name."""
    if session.execute(select(Strategy.id).where(Strategy.name == name)).first() is None:
        raise UnknownStrategyError(f"no strategy named {name!r}")
    query = (
        select(Tournament.id, StrategyVersion.version, Tournament.status, Tournament.finished_at)
        .join(TournamentEntry, TournamentEntry.tournament_id == Tournament.id)
        .join(StrategyVersion, TournamentEntry.strategy_version_id == StrategyVersion.id)
        .join(Strategy, StrategyVersion.strategy_id == Strategy.id)
        .where(Strategy.name == name, Tournament.game == game)
        .order_by(Tournament.id)
    )
    return [EntryRow(*row) for row in session.execute(query)]
