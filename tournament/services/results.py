"""Reading results: tournament lists, head-to-head matrices, match replays and strategy histories."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Generic, TypeVar

from tournament.persistence import results as results_repo
from tournament.persistence import tournaments as tournament_repo
from tournament.persistence.database import Database
from tournament.persistence.results import MatchDetail, TournamentRow
from tournament.persistence.tournaments import TournamentInfo
from tournament.rules.games import get_game
from tournament.rules.head_to_head import HeadToHead, head_to_head
from tournament.rules.records import RoundRecord
from tournament.rules.standings import MatchSummary, Standing
from tournament.services.ratings import RatingPoint, RatingsCache
from tournament.services.tournaments import tournament_standings

T = TypeVar("T")


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


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list that can grow, with the size of the whole list."""

    total: int
    limit: int
    offset: int
    items: tuple[T, ...]


def list_tournaments(
    db: Database, *, game: str | None = None, status: str | None = None, limit: int = 50, offset: int = 0
) -> Page[TournamentRow]:
    """Tournaments newest first, with participant and match counts."""
    if game is not None:
        get_game(game)
    with db.sessions() as session:
        total, rows = results_repo.tournament_page(
            session, game=game, status=status, limit=limit, offset=offset
        )
    return Page(total, limit, offset, tuple(rows))


@dataclass(frozen=True, slots=True)
class TournamentProgress:
    info: TournamentInfo
    matches_finished: int
    matches_total: int


def tournament_progress(db: Database, tournament_id: int) -> TournamentProgress:
    """A tournament with its participants and how many of its matches are finished."""
    with db.sessions() as session:
        info = tournament_repo.get_tournament(session, tournament_id)
        finished, total = tournament_repo.match_counts(session, tournament_id)
    return TournamentProgress(info, finished, total)


def tournament_matches(
    db: Database, tournament_id: int, *, strategy: str | None = None, limit: int = 50, offset: int = 0
) -> Page[MatchDetail]:
    """A tournament's matches by position (only those `strategy` played, when given)."""
    with db.sessions() as session:
        tournament_repo.get_tournament(session, tournament_id)
        total, rows = results_repo.match_page(
            session, tournament_id, strategy=strategy, limit=limit, offset=offset
        )
    return Page(total, limit, offset, tuple(rows))


@dataclass(frozen=True, slots=True)
class RoundsPage:
    """A page of a match's rounds with the running score before its first round."""

    replay: MatchReplay
    total: int
    limit: int
    score_before: tuple[int, int]


def match_rounds_page(db: Database, match_id: int, *, offset: int = 0, limit: int = 200) -> RoundsPage:
    """Rounds `offset`.. of a match; running scores stay right at any offset (summed in the database)."""
    replay = match_replay(db, match_id, offset=offset, limit=limit)
    with db.sessions() as session:
        total, score_a, score_b = results_repo.rounds_before(session, match_id, offset)
    return RoundsPage(replay, total, limit, (score_a, score_b))


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A strategy's result in one tournament and its rating right after it (None: no finished match)."""

    tournament_id: int
    version: str
    status: str
    rank: int | None
    points: int | None
    mean_payoff: float | None
    finished_at: datetime | None
    rating: RatingPoint | None


def strategy_history(
    db: Database, cache: RatingsCache, tables: TournamentTablesCache, name: str, game: str
) -> list[HistoryEntry]:
    """Per tournament of `game` the strategy took part in (oldest first): its standing and rating after it."""
    get_game(game)
    with db.sessions() as session:
        entries = results_repo.strategy_entries(session, name, game)
    replay = cache.replay(db, game)
    points = {point.tournament_id: point for point in replay.history.get(name, ())}
    history = []
    for entry in entries:
        standing = next(
            (row for row in tables.standings(db, entry.tournament_id) if row.strategy == name), None
        )
        history.append(
            HistoryEntry(
                tournament_id=entry.tournament_id,
                version=entry.version,
                status=entry.status,
                rank=None if standing is None else standing.rank,
                points=None if standing is None else standing.points,
                mean_payoff=None if standing is None else standing.mean_payoff,
                finished_at=entry.finished_at,
                rating=points.get(entry.tournament_id),
            )
        )
    return history


class TournamentTablesCache:
    """Standings and head-to-head per tournament, reused while none of its matches has been recorded since.

    A match is recorded exactly once (pending -> finished), so the count of finished matches identifies
    the data; checking it is one indexed count, while rebuilding a 200-player table reads 19,900 matches.
    Holds the most recently used `size` tournaments; one cache lives as long as one app.
    """

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._tables: OrderedDict[int, tuple[int, list[Standing], HeadToHead]] = OrderedDict()

    def _get(self, db: Database, tournament_id: int) -> tuple[list[Standing], HeadToHead]:
        with self._lock:
            with db.sessions() as session:
                tournament_repo.get_tournament(session, tournament_id)
                finished, _ = tournament_repo.match_counts(session, tournament_id)
            cached = self._tables.get(tournament_id)
            if cached is not None and cached[0] == finished:
                self._tables.move_to_end(tournament_id)
                return cached[1], cached[2]
        standings = tournament_standings(db, tournament_id)
        matrix = tournament_head_to_head(db, tournament_id)
        with self._lock:
            self._tables[tournament_id] = (finished, standings, matrix)
            self._tables.move_to_end(tournament_id)
            while len(self._tables) > self._size:
                self._tables.popitem(last=False)
        return standings, matrix

    def standings(self, db: Database, tournament_id: int) -> list[Standing]:
        """As :func:`tournament_standings`."""
        return self._get(db, tournament_id)[0]

    def head_to_head(self, db: Database, tournament_id: int) -> HeadToHead:
        """As :func:`tournament_head_to_head`."""
        return self._get(db, tournament_id)[1]


def head_to_head_dict(matrix: HeadToHead) -> dict[str, object]:
    """The matrix as `tournament h2h --json` prints it and the API returns it."""
    return {
        "strategies": list(matrix.strategies),
        "cells": [
            {
                "strategy": c.strategy,
                "opponent": c.opponent,
                "matches": c.matches,
                "wins": c.wins,
                "draws": c.draws,
                "losses": c.losses,
                "payoff": c.payoff,
                "opponent_payoff": c.opponent_payoff,
                "rounds": c.rounds,
                "mean_payoff": c.mean_payoff,
            }
            for c in matrix.cells
        ],
    }


def replay_dict(replay: MatchReplay, running: tuple[int, int] = (0, 0)) -> dict[str, object]:
    """The replay as `tournament match show --json` prints it; `running` is the score before the page."""
    score_a, score_b = running
    rounds = []
    for r in replay.rounds:
        score_a += r.payoff_a
        score_b += r.payoff_b
        rounds.append({
            "round": r.index,
            "move_a": None if r.move_a is None else replay.moves[r.move_a],
            "move_b": None if r.move_b is None else replay.moves[r.move_b],
            "payoff_a": r.payoff_a, "payoff_b": r.payoff_b, "score_a": score_a, "score_b": score_b,
            "noise_a": r.noise_a, "noise_b": r.noise_b,
            "forfeit_a": None if r.forfeit_a is None else str(r.forfeit_a),
            "forfeit_b": None if r.forfeit_b is None else str(r.forfeit_b),
            "fuel_a": r.fuel_a, "fuel_b": r.fuel_b,
        })  # fmt: skip
    return {"match": asdict(replay.detail), "offset": replay.offset, "rounds": rounds}
