"""Web pages: leaderboard, tournaments, strategies, match replays and a live view (see docs/web.md)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static")


def install(app: FastAPI) -> None:
    """Add the pages and their static files (CSS, the live view's script) to the application."""
    from tournament.web.pages import router

    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
