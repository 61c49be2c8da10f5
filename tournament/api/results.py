"""Read endpoints for results: tournaments, standings, head-to-head, matches with rounds, ratings, histories.

Every route calls the same service as the CLI (`tournament standings/h2h/leaderboard/match show --json`), so
both show the same numbers.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic_core import to_json

from tournament.api.context import ApiContext, get_context
from tournament.api.results_schemas import (
    HeadToHeadOut,
    MatchOut,
    MatchPageOut,
    RatingPageOut,
    RoundPageOut,
    StandingOut,
    StrategyHistoryOut,
    TournamentDetailOut,
    TournamentPageOut,
)
from tournament.api.schemas import ErrorOut
from tournament.persistence.strategies import NAME_MAX_LENGTH, NAME_PATTERN, validate_name
from tournament.services import results
from tournament.services.results import head_to_head_dict, replay_dict

router = APIRouter(prefix="/api", tags=["results"])
Context = Annotated[ApiContext, Depends(get_context)]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size (1..500).")]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1, description="Items to skip.")]
GameName = Annotated[str, Query(min_length=1, max_length=64, description="A game name, e.g. rps.")]
TournamentId = Annotated[int, Path(ge=1, le=2**31 - 1, description="A tournament id.")]
MatchId = Annotated[int, Path(ge=1, le=2**31 - 1, description="A match id (global).")]
StrategyName = Annotated[str | None, Query(pattern=NAME_PATTERN.pattern, max_length=NAME_MAX_LENGTH)]

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Malformed strategy name."},
    404: {"model": ErrorOut, "description": "Unknown tournament, match or strategy."},
    422: {"model": ErrorOut, "description": "Invalid parameters or unknown game."},
}


@router.get("/tournaments", response_model=TournamentPageOut, responses=NOT_FOUND)
def list_tournaments(
    context: Context,
    game: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    status: Annotated[str | None, Query(pattern="^(pending|running|finished|failed|cancelled)$")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Tournaments newest first, with participant and match counts (filter by game and status)."""
    page = results.list_tournaments(context.database, game=game, status=status, limit=limit, offset=offset)
    return asdict(page)


@router.get("/tournaments/{tournament_id}", response_model=TournamentDetailOut, responses=NOT_FOUND)
def show_tournament(tournament_id: TournamentId, context: Context) -> dict[str, Any]:
    """One tournament: its configuration, participants (pinned versions) and progress."""
    progress = results.tournament_progress(context.database, tournament_id)
    info = progress.info
    body = asdict(info)
    body["participants"] = [
        {"name": p.name, "version": p.version, "content_hash": p.content_hash, "language": p.language}
        for p in info.participants
    ]
    return {**body, "matches_finished": progress.matches_finished, "matches_total": progress.matches_total}


@router.get("/tournaments/{tournament_id}/standings", response_model=list[StandingOut], responses=NOT_FOUND)
def standings(tournament_id: TournamentId, context: Context) -> list[dict[str, Any]]:
    """The standings from the recorded matches, as `tournament standings ID --json`."""
    return [asdict(row) for row in context.tables.standings(context.database, tournament_id)]


@router.get("/tournaments/{tournament_id}/h2h", response_model=HeadToHeadOut, responses=NOT_FOUND)
def head_to_head(tournament_id: TournamentId, context: Context) -> Response:
    """Each strategy's results against each other one, as `tournament h2h ID --json`."""
    matrix = head_to_head_dict(context.tables.head_to_head(context.database, tournament_id))
    # Encoded directly (the services' own values, documented by HeadToHeadOut): a 200-player matrix has
    # 39,800 cells, and building a response model per cell costs ten times the query.
    return Response(to_json(matrix), media_type="application/json")


@router.get("/tournaments/{tournament_id}/matches", response_model=MatchPageOut, responses=NOT_FOUND)
def tournament_matches(
    tournament_id: TournamentId,
    context: Context,
    strategy: StrategyName = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """A tournament's matches by position: players, outcome, totals, forfeit reasons and status."""
    page = results.tournament_matches(
        context.database, tournament_id, strategy=strategy, limit=limit, offset=offset
    )
    return asdict(page)


@router.get("/matches/{match_id}", response_model=MatchOut, responses=NOT_FOUND)
def show_match(match_id: MatchId, context: Context) -> dict[str, Any]:
    """One match: players and versions, outcome, totals and first forfeit reasons."""
    return asdict(results.match_replay(context.database, match_id, limit=0).detail)


@router.get("/matches/{match_id}/rounds", response_model=RoundPageOut, responses=NOT_FOUND)
def match_rounds(
    match_id: MatchId,
    context: Context,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Rounds per page (1..1000).")] = 200,
) -> dict[str, Any]:
    """A page of rounds with move labels, payoffs and running scores, as `tournament match show --json`."""
    page = results.match_rounds_page(context.database, match_id, offset=offset, limit=limit)
    body = replay_dict(page.replay, page.score_before)
    return {
        "match": body["match"],
        "total": page.total,
        "limit": page.limit,
        "offset": page.replay.offset,
        "rounds": body["rounds"],
    }


@router.get("/ratings", response_model=RatingPageOut, responses=NOT_FOUND)
def ratings(
    context: Context, game: GameName = "rps", limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    """The rating leaderboard of a game, as `tournament leaderboard --json` (a page of it)."""
    board = context.ratings.replay(context.database, game).board
    items = [asdict(row) for row in board[offset : offset + limit]]
    return {"game": game, "total": len(board), "limit": limit, "offset": offset, "items": items}


@router.get("/strategies/{name}/history", response_model=StrategyHistoryOut, responses=NOT_FOUND)
def strategy_history(name: str, context: Context, game: GameName = "rps") -> dict[str, Any]:
    """A strategy's standing in each tournament of the game and its rating right after it, oldest first."""
    validate_name(name)
    entries = results.strategy_history(context.database, context.ratings, context.tables, name, game)
    return {"strategy": name, "game": game, "tournaments": [asdict(entry) for entry in entries]}
