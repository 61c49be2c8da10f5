"""What each page shows, assembled from the services (synchronous: the routes run these in a thread)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tournament.persistence import strategies as strategy_repo
from tournament.persistence import tournaments as tournament_repo
from tournament.persistence.database import Database
from tournament.persistence.strategies import StrategyVersionInfo
from tournament.persistence.tournaments import TournamentInfo
from tournament.rules.games import builtin_games
from tournament.rules.records import RoundRecord
from tournament.rules.standings import Standing
from tournament.services.ratings import Rating, RatingPoint, RatingsCache
from tournament.services.results import MatchReplay, match_replay, tournament_head_to_head
from tournament.services.tournaments import tournament_standings
from tournament.web import queries
from tournament.web.charts import Chart, Series, line_chart

ROUNDS_PER_PAGE = 100
MATCHES_PER_PAGE = 200
"""The tournament page lists matches in pages: 200 strategies play 19,900 matches."""
RECENT_TOURNAMENTS = 15


@dataclass(frozen=True, slots=True)
class LeaderboardView:
    game: str
    games: tuple[str, ...]
    ratings: list[Rating]
    tournaments: list[TournamentInfo]


def leaderboard_view(db: Database, game: str, ratings: RatingsCache) -> LeaderboardView:
    """The app's cached replay of the game: the same board as `tournament leaderboard`."""
    board = list(ratings.replay(db, game).board)
    with db.sessions() as session:
        recent = tournament_repo.list_tournaments(session, limit=RECENT_TOURNAMENTS)
    return LeaderboardView(game, tuple(sorted(builtin_games())), board, recent)


@dataclass(frozen=True, slots=True)
class HeatCell:
    """One head-to-head cell from the row strategy's side; `style` colours it by the payoff difference."""

    difference: int | None
    """Row payoff minus column payoff; None on the diagonal or for a pair that has not met."""
    wins: int
    draws: int
    losses: int
    style: str
    title: str


@dataclass(frozen=True, slots=True)
class TournamentView:
    info: TournamentInfo
    standings: list[Standing]
    strategies: tuple[str, ...]
    heat: list[list[HeatCell]]
    matches: list[queries.MatchLine]
    """This page of the tournament's matches."""
    finished: int
    total: int
    page: int
    pages: int


def _heat_style(difference: int, scale: int) -> str:
    """Green for a winning row, red for a losing one, deeper with the size of the difference."""
    if difference == 0 or scale == 0:
        return "background-color: hsl(45, 30%, 94%)"
    strength = math.sqrt(abs(difference) / scale)
    hue = 130 if difference > 0 else 0
    return f"background-color: hsl({hue}, 55%, {round(95 - 33 * strength)}%)"


def tournament_view(db: Database, tournament_id: int, page: int = 1) -> TournamentView:
    info = tournament_repo_get(db, tournament_id)
    standings = tournament_standings(db, tournament_id)
    matrix = tournament_head_to_head(db, tournament_id)
    with db.sessions() as session:
        matches = queries.match_lines(session, tournament_id)
    order = tuple(s.strategy for s in standings) or matrix.strategies
    cells = {(c.strategy, c.opponent): c for c in matrix.cells}
    scale = max((abs(c.payoff - c.opponent_payoff) for c in matrix.cells), default=0)
    heat = []
    for row in order:
        line = []
        for column in order:
            cell = cells.get((row, column))
            if cell is None:
                line.append(HeatCell(None, 0, 0, 0, "", "—" if row == column else "not played yet"))
                continue
            difference = cell.payoff - cell.opponent_payoff
            title = (
                f"{row} vs {column}: payoff {cell.payoff} to {cell.opponent_payoff} ({difference:+d}), "
                f"{cell.wins}W {cell.draws}D {cell.losses}L over {cell.matches} match(es)"
            )
            style = _heat_style(difference, scale)
            line.append(HeatCell(difference, cell.wins, cell.draws, cell.losses, style, title))
        heat.append(line)
    finished = sum(1 for m in matches if m.status == "finished")
    pages = max(1, math.ceil(len(matches) / MATCHES_PER_PAGE))
    page = min(max(page, 1), pages)
    shown = matches[(page - 1) * MATCHES_PER_PAGE : page * MATCHES_PER_PAGE]
    return TournamentView(info, standings, order, heat, shown, finished, len(matches), page, pages)


def tournament_repo_get(db: Database, tournament_id: int) -> TournamentInfo:
    with db.sessions() as session:
        return tournament_repo.get_tournament(session, tournament_id)


@dataclass(frozen=True, slots=True)
class TournamentResult:
    info: TournamentInfo
    version: str
    standing: Standing | None
    field: int


@dataclass(frozen=True, slots=True)
class StrategyView:
    name: str
    versions: list[StrategyVersionInfo]
    history: dict[str, list[RatingPoint]]
    """Per game: the rating after each tournament the strategy played in."""
    charts: dict[str, Chart]
    results: list[TournamentResult]


def strategy_view(db: Database, name: str, ratings: RatingsCache) -> StrategyView:
    """Its rating history comes from the same replay as the leaderboard, so the last point is its rating."""
    with db.sessions() as session:
        versions = strategy_repo.strategy_versions(session, name)
        tournaments = [
            t
            for t in tournament_repo.list_tournaments(session)
            if any(p.name == name for p in t.participants)
        ]
    tournaments.reverse()
    results = []
    for info in tournaments:
        standing = next((s for s in tournament_standings(db, info.id) if s.strategy == name), None)
        version = next(p.version for p in info.participants if p.name == name)
        results.append(TournamentResult(info, version, standing, len(info.participants)))
    history: dict[str, list[RatingPoint]] = {}
    charts: dict[str, Chart] = {}
    for game in sorted({t.game for t in tournaments}):
        points = list(ratings.replay(db, game).history.get(name, ()))
        if not points:
            continue
        history[game] = points
        charts[game] = line_chart(
            [Series("display rating (mu - 3 sigma)", tuple(p.display for p in points), "series-a")],
            x_label="tournaments played (in order)",
            y_label="rating",
        )
    return StrategyView(name, versions, history, charts, results)


@dataclass(frozen=True, slots=True)
class ReplayRow:
    record: RoundRecord
    move_a: str
    move_b: str
    score_a: int
    score_b: int


@dataclass(frozen=True, slots=True)
class MatchView:
    replay: MatchReplay
    rows: list[ReplayRow]
    page: int
    pages: int
    total_rounds: int
    final_a: int
    final_b: int
    chart: Chart


def _label(moves: tuple[str, ...], move: int | None, noise: bool) -> str:
    if move is None:
        return "—"
    text = moves[move] if 0 <= move < len(moves) else str(move)
    return f"{text}*" if noise else text


def match_view(db: Database, match_id: int, page: int) -> MatchView:
    """One page of rounds with running scores, and the whole match's cumulative score for the chart."""
    replay = match_replay(db, match_id)
    score_a = score_b = 0
    cumulative_a: list[float] = []
    cumulative_b: list[float] = []
    for record in replay.rounds:
        score_a += record.payoff_a
        score_b += record.payoff_b
        cumulative_a.append(score_a)
        cumulative_b.append(score_b)
    total = len(replay.rounds)
    pages = max(1, math.ceil(total / ROUNDS_PER_PAGE))
    page = min(max(page, 1), pages)
    start = (page - 1) * ROUNDS_PER_PAGE
    rows = [
        ReplayRow(
            record,
            _label(replay.moves, record.move_a, record.noise_a),
            _label(replay.moves, record.move_b, record.noise_b),
            int(cumulative_a[index]),
            int(cumulative_b[index]),
        )
        for index, record in enumerate(replay.rounds[start : start + ROUNDS_PER_PAGE], start=start)
    ]
    detail = replay.detail
    chart = line_chart(
        [
            Series(detail.strategy_a, tuple(cumulative_a), "series-a"),
            Series(detail.strategy_b, tuple(cumulative_b), "series-b"),
        ],
        x_label="round",
        y_label="cumulative payoff",
    )
    return MatchView(replay, rows, page, pages, total, score_a, score_b, chart)
