"""What every request handler needs, built once per app in its lifespan and handed in as a dependency."""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
from fastapi import Request

from tournament.authoring.policy import ValidationPolicy
from tournament.persistence.database import Database
from tournament.services.ratings import RatingsCache
from tournament.services.results import TournamentTablesCache
from tournament.services.submissions import Validator


@dataclass(frozen=True, slots=True)
class ApiContext:
    """The open database, the admission policy and the validator of one running app."""

    database: Database
    policy: ValidationPolicy
    """Size cap, WASI admission and sandbox limits for uploads (games come from each upload)."""
    validate: Validator
    validations: anyio.CapacityLimiter
    """Bounds how many uploads are validated at once (each one runs in its own child process)."""
    ratings: RatingsCache = field(default_factory=RatingsCache)
    """Rating replays per game, kept for the app's lifetime and rebuilt when matches are recorded."""
    tables: TournamentTablesCache = field(default_factory=TournamentTablesCache)
    """Standings and head-to-head of recently read tournaments, rebuilt when their matches change."""


def get_context(request: Request) -> ApiContext:
    """The app's context (set by the lifespan; a request cannot arrive before it)."""
    context = getattr(request.app.state, "context", None)
    if not isinstance(context, ApiContext):
        raise RuntimeError("the API's lifespan did not run: no database is open")
    return context
