"""Authors and their API tokens: only a token's sha256 is stored, so a leaked database leaks no token.

Functions take a Session and flush but never commit (the caller's ``sessions.begin()`` block commits).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tournament.persistence.models import Author, Strategy

AUTHOR_NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
"""Lowercase letters and digits, with '.', '_' or '-' inside; at most 64 characters."""
RESERVED_ACTORS = frozenset({"cli", "engine", "builtins"})
"""Actor names the system writes to the audit log itself; no author may take them."""
TOKEN_PREFIX = "tsk_"
"""Makes tokens recognizable (in logs, secret scanners) without weakening them."""


class InvalidAuthorError(ValueError):
    """An author name is malformed, reserved or already taken."""


class UnknownAuthorError(LookupError):
    """No author with the requested name."""


@dataclass(frozen=True, slots=True)
class AuthorInfo:
    """A stored author (never with the token, which is not stored)."""

    id: int
    name: str
    is_admin: bool
    created_at: datetime
    strategies: int = 0
    """How many strategies the author owns (filled by :func:`list_authors`)."""


def token_hash(token: str) -> str:
    """The stored form of a token: sha256 of its UTF-8 bytes, lowercase hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh random API token (256 bits of entropy)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _info(row: Author, strategies: int = 0) -> AuthorInfo:
    return AuthorInfo(
        id=row.id, name=row.name, is_admin=row.is_admin, created_at=row.created_at, strategies=strategies
    )


def validate_author_name(name: str) -> None:
    """Raise InvalidAuthorError unless ``name`` is a usable, unreserved author name."""
    if not AUTHOR_NAME_PATTERN.match(name):
        raise InvalidAuthorError(
            f"invalid author name {name!r}: use lowercase letters and digits, with '.', '_' or '-' inside "
            "(at most 64 characters)"
        )
    if name in RESERVED_ACTORS:
        raise InvalidAuthorError(f"author name {name!r} is reserved; choose another one")


def create_author(session: Session, name: str, *, is_admin: bool = False) -> tuple[AuthorInfo, str]:
    """Store a new author and return it with its token (the only time the token is available)."""
    validate_author_name(name)
    if session.scalar(select(Author.id).where(Author.name == name)) is not None:
        raise InvalidAuthorError(f"author {name!r} already exists")
    token = new_token()
    row = Author(name=name, token_hash=token_hash(token), is_admin=is_admin)
    session.add(row)
    session.flush()
    return _info(row), token


def author_by_token(session: Session, token: str) -> AuthorInfo | None:
    """The author holding ``token``, or None (looked up by hash; the token is never compared in clear)."""
    row = session.scalars(select(Author).where(Author.token_hash == token_hash(token))).one_or_none()
    return None if row is None else _info(row)


def author_by_name(session: Session, name: str) -> AuthorInfo:
    """The author called ``name``; UnknownAuthorError if there is none."""
    row = session.scalars(select(Author).where(Author.name == name)).one_or_none()
    if row is None:
        raise UnknownAuthorError(f"unknown author {name!r} (add it with `tournament author add {name}`)")
    return _info(row)


def author_by_id(session: Session, author_id: int) -> AuthorInfo:
    """The author with this id; UnknownAuthorError if there is none."""
    row = session.get(Author, author_id)
    if row is None:
        raise UnknownAuthorError(f"no author with id {author_id}")
    return _info(row)


def list_authors(session: Session) -> list[AuthorInfo]:
    """Every author by name, with the number of strategies each owns."""
    owned = (
        select(Strategy.owner_id, func.count().label("n"))
        .where(Strategy.owner_id.is_not(None))
        .group_by(Strategy.owner_id)
        .subquery()
    )
    rows = session.execute(
        select(Author, func.coalesce(owned.c.n, 0))
        .outerjoin(owned, owned.c.owner_id == Author.id)
        .order_by(Author.name)
    )
    return [_info(row, int(count)) for row, count in rows]
