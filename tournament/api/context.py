"""What every request handler needs, built once per app in its lifespan and handed in as a dependency."""

from __future__ import annotations

from dataclasses import dataclass

import anyio
from fastapi import Request

from tournament.authoring.policy import ValidationPolicy
from tournament.persistence.database import Database
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


def get_context(request: Request) -> ApiContext:
    """The app's context (set by the lifespan; a request cannot arrive before it)."""
    context = getattr(request.app.state, "context", None)
    if not isinstance(context, ApiContext):
        raise RuntimeError("the API's lifespan did not run: no database is open")
    return context
