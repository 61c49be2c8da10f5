"""Bearer-token authentication: a token maps to an author (by its sha256), never compared in clear."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tournament.api.context import ApiContext, get_context
from tournament.services.authors import Actor, authenticate

bearer = HTTPBearer(
    auto_error=False,
    description="An author's API token, printed once by `tournament author add NAME`.",
)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def require_author(
    context: Annotated[ApiContext, Depends(get_context)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    """The authenticated author; 401 with a one-line reason when the token is missing or unknown."""
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API token: send the header 'Authorization: Bearer TOKEN'",
            headers=_CHALLENGE,
        )
    actor = authenticate(context.database, credentials.credentials)
    if actor is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API token", headers=_CHALLENGE)
    return actor


CurrentAuthor = Annotated[Actor, Depends(require_author)]
