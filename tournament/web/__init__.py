"""Web pages: leaderboard, tournaments, strategies, match replays and a live view (being written)."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add the pages (and their static files) to the application."""
