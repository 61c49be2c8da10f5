"""Read endpoints for results: tournaments, standings, head-to-head, matches and ratings (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["results"])
