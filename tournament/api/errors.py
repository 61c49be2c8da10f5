"""Every error leaves the API as JSON `{"detail": "one line"}` with a fitting 4xx (or 5xx) status.

Typed service errors are mapped here, once; unexpected exceptions become a bare 500 whose traceback goes
to the server log only.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from tournament.authoring.policy import ValidationSetupError
from tournament.persistence.authors import InvalidAuthorError, UnknownAuthorError
from tournament.persistence.errors import (
    InvalidStrategyError,
    PersistenceError,
    UnknownMatchError,
    UnknownStrategyError,
    UnknownTournamentError,
)
from tournament.rules.errors import UnknownGameError
from tournament.services.errors import InvalidRequestError
from tournament.services.submissions import (
    ComponentTooLargeError,
    NotOwnerError,
    ValidationUnavailableError,
    VersionConflictError,
)

logger = logging.getLogger("tournament.api")

STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (NotOwnerError, status.HTTP_403_FORBIDDEN),
    (VersionConflictError, status.HTTP_409_CONFLICT),
    (ComponentTooLargeError, status.HTTP_413_CONTENT_TOO_LARGE),
    (UnknownStrategyError, status.HTTP_404_NOT_FOUND),
    (UnknownTournamentError, status.HTTP_404_NOT_FOUND),
    (UnknownAuthorError, status.HTTP_404_NOT_FOUND),
    (UnknownMatchError, status.HTTP_404_NOT_FOUND),
    (UnknownGameError, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (InvalidStrategyError, status.HTTP_400_BAD_REQUEST),
    (InvalidAuthorError, status.HTTP_400_BAD_REQUEST),
    (InvalidRequestError, status.HTTP_400_BAD_REQUEST),
    (ValidationUnavailableError, status.HTTP_503_SERVICE_UNAVAILABLE),
    (ValidationSetupError, status.HTTP_503_SERVICE_UNAVAILABLE),
    (PersistenceError, status.HTTP_503_SERVICE_UNAVAILABLE),
)
"""Typed errors and their statuses; Starlette picks the handler of the most specific class."""


def _message(error: BaseException) -> str:
    text = str(error.args[0]) if error.args else str(error)
    return text.splitlines()[0] if text else type(error).__name__


async def _typed_error(request: Request, error: Exception) -> JSONResponse:
    code = next(code for kind, code in STATUS_BY_ERROR if isinstance(error, kind))
    if code >= 500:
        logger.warning("%s %s failed: %s", request.method, request.url.path, _message(error))
    return JSONResponse({"detail": _message(error)}, status_code=code)


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    """FastAPI's list of validation problems, flattened to one line (`query 'limit': ...`)."""
    problems = error.errors() if isinstance(error, RequestValidationError) else []
    parts = []
    for problem in problems[:3]:
        where = [str(part) for part in problem.get("loc", ())]
        place = f"{where[0]} {'.'.join(where[1:])!r}" if len(where) > 1 else ".".join(where)
        parts.append(f"{place}: {problem.get('msg', 'invalid')}".strip(": "))
    detail = "; ".join(parts) or "invalid request"
    return JSONResponse({"detail": f"invalid request: {detail}"}, status_code=422)


async def _database_down(request: Request, error: Exception) -> JSONResponse:
    """A lost connection or a locked database: the client may retry; the details stay in the log."""
    logger.warning("%s %s: database unavailable: %s", request.method, request.url.path, error)
    return JSONResponse({"detail": "the database is unavailable; try again later"}, status_code=503)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    logger.error("%s %s crashed", request.method, request.url.path, exc_info=error)
    return JSONResponse({"detail": "internal server error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    for kind, _ in STATUS_BY_ERROR:
        app.add_exception_handler(kind, _typed_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(Exception, _unexpected)
