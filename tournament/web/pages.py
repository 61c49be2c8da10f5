"""The HTML routes: every number is rendered server-side from the services, so pages work without JS.

Only the live view uses JavaScript, to follow a Server-Sent Events stream that polls the database (the
tournament itself runs in another process, usually the CLI).
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates

from tournament.api.context import get_context
from tournament.persistence.database import Database
from tournament.persistence.errors import UnknownMatchError, UnknownStrategyError, UnknownTournamentError
from tournament.rules.errors import UnknownGameError
from tournament.web import queries, views

TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))
POLL_SECONDS = 0.5
"""How often the event stream looks at the database: two cheap indexed queries per poll."""
HEARTBEAT_SECONDS = 15.0
"""A comment line this often keeps proxies from closing an idle stream."""
TERMINAL = frozenset({"finished", "failed", "cancelled"})
NOT_FOUND = (UnknownTournamentError, UnknownMatchError, UnknownStrategyError, UnknownGameError)

router = APIRouter(include_in_schema=False)
T = TypeVar("T")


async def _load(request: Request, build: Callable[[Database], T]) -> T:
    """Run a synchronous view builder in a worker thread: database calls never block the event loop."""
    database = get_context(request).database
    return await anyio.to_thread.run_sync(build, database)


def _render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)


def _not_found(request: Request, error: Exception) -> HTMLResponse:
    return _render(request, "not_found.html", 404, message=str(error.args[0]) if error.args else str(error))


@router.get("/", response_class=HTMLResponse)
async def leaderboard_page(request: Request, game: str = "rps") -> Response:
    """Ratings of a game across tournaments and the latest tournaments."""
    try:
        ratings = get_context(request).ratings
        view = await _load(request, functools.partial(views.leaderboard_view, game=game, ratings=ratings))
    except NOT_FOUND as error:
        return _not_found(request, error)
    return _render(request, "leaderboard.html", view=view, title=f"Leaderboard: {game}")


@router.get("/tournaments/{tournament_id}", response_class=HTMLResponse)
async def tournament_page(request: Request, tournament_id: int, page: int = 1) -> Response:
    """Standings, head-to-head heat map and the match list (paginated) of one tournament."""
    build = functools.partial(views.tournament_view, tournament_id=tournament_id, page=page)
    try:
        view = await _load(request, build)
    except NOT_FOUND as error:
        return _not_found(request, error)
    return _render(request, "tournament.html", view=view, title=f"Tournament {tournament_id}")


@router.get("/strategies/{name}", response_class=HTMLResponse)
async def strategy_page(request: Request, name: str) -> Response:
    """A strategy's versions, rating history and results per tournament."""
    try:
        ratings = get_context(request).ratings
        view = await _load(request, functools.partial(views.strategy_view, name=name, ratings=ratings))
    except NOT_FOUND as error:
        return _not_found(request, error)
    return _render(request, "strategy.html", view=view, title=f"Strategy {name}")


@router.get("/matches/{match_id}", response_class=HTMLResponse)
async def match_page(request: Request, match_id: int, page: int = 1) -> Response:
    """A round-by-round replay (paginated) with the cumulative score chart."""
    try:
        view = await _load(request, functools.partial(views.match_view, match_id=match_id, page=page))
    except NOT_FOUND as error:
        return _not_found(request, error)
    return _render(request, "match.html", view=view, title=f"Match {match_id}")


def _progress(database: Database, tournament_id: int) -> queries.Progress:
    with database.sessions() as session:
        return queries.progress(session, tournament_id)


def _progress_json(progress: queries.Progress) -> str:
    data = asdict(progress)
    for line in data["latest"]:
        line["finished_at"] = line["finished_at"].isoformat() if line["finished_at"] else None
    return json.dumps(data)


@router.get("/tournaments/{tournament_id}/live", response_class=HTMLResponse)
async def live_page(request: Request, tournament_id: int) -> Response:
    """Progress of a running tournament; the page then follows `/tournaments/{id}/events`."""
    try:
        info = await _load(request, functools.partial(views.tournament_repo_get, tournament_id=tournament_id))
        progress = await _load(request, functools.partial(_progress, tournament_id=tournament_id))
    except NOT_FOUND as error:
        return _not_found(request, error)
    title = f"Tournament {tournament_id} live"
    return _render(request, "live.html", info=info, progress=progress, title=title)


@router.get("/tournaments/{tournament_id}/events")
async def live_events(request: Request, tournament_id: int) -> Response:
    """Server-Sent Events: a `progress` event whenever the counts or latest results change, then `done`.

    The tournament runs in another process, so the stream polls the database every POLL_SECONDS (in a
    worker thread) instead of listening to the engine.
    """
    database = get_context(request).database
    poll = functools.partial(_progress, database, tournament_id)
    try:
        first = await anyio.to_thread.run_sync(poll)
    except NOT_FOUND as error:
        return _not_found(request, error)

    async def stream() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        current, previous, quiet = first, None, 0.0
        while True:
            if current != previous:
                yield f"event: progress\ndata: {_progress_json(current)}\n\n"
                previous, quiet = current, 0.0
            if current.status in TERMINAL:
                yield f"event: done\ndata: {_progress_json(current)}\n\n"
                return
            await anyio.sleep(POLL_SECONDS)
            if await request.is_disconnected():
                return
            quiet += POLL_SECONDS
            if quiet >= HEARTBEAT_SECONDS:
                yield ": keep-alive\n\n"
                quiet = 0.0
            current = await anyio.to_thread.run_sync(poll)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
