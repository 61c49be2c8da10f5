"""The FastAPI application factory: nothing is opened at import; the lifespan opens the database."""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI

from tournament import ENGINE_VERSION, web
from tournament.api import audit, results, strategies
from tournament.api.context import ApiContext
from tournament.api.errors import install_error_handlers
from tournament.authoring.builtins import DEFAULT_MANIFEST
from tournament.authoring.isolation import validate_isolated
from tournament.authoring.policy import ValidationPolicy
from tournament.persistence.database import open_database
from tournament.services.submissions import Validator


def create_app(
    database_url: str | None = None,
    *,
    builtins_manifest: Path | None = None,
    policy: ValidationPolicy | None = None,
    max_concurrent_validations: int | None = None,
) -> FastAPI:
    """The API over the database at ``database_url`` (default: as the CLI's, ``$TOURNAMENT_DB`` first).

    ``policy`` sets the upload size cap, WASI admission and limits (default: ValidationPolicy()). Uploads
    are validated in isolated child processes, at most ``max_concurrent_validations`` at once (default:
    the number of cores).
    """
    manifest = builtins_manifest or DEFAULT_MANIFEST
    admission = policy or ValidationPolicy()
    validate: Validator = functools.partial(validate_isolated, builtins_manifest=manifest)
    concurrency = max_concurrent_validations or os.cpu_count() or 1

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = await anyio.to_thread.run_sync(
            functools.partial(open_database, database_url, builtins_manifest=manifest)
        )
        app.state.context = ApiContext(database, admission, validate, anyio.CapacityLimiter(concurrency))
        try:
            yield
        finally:
            database.close()

    app = FastAPI(
        title="Tournament API",
        version=ENGINE_VERSION,
        summary="Submit sandboxed WebAssembly strategies and read the registry and its audit log.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(strategies.router)
    app.include_router(audit.router)
    app.include_router(results.router)
    web.install(app)
    return app
