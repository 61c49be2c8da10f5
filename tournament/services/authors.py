"""Who acts on the registry: authors with API tokens, admins, and the trusted local operator (the CLI)."""

from __future__ import annotations

from dataclasses import dataclass

from tournament.persistence import audit as audit_repo
from tournament.persistence import authors as author_repo
from tournament.persistence.authors import AuthorInfo
from tournament.persistence.database import Database

OPERATOR_NAME = "cli"
"""The audit log's name for the local operator."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Whoever asks for a change: checked against a strategy's owner, and written to the audit log."""

    name: str
    """The author's name, or 'cli' for the local operator."""
    author_id: int | None = None
    """None for the local operator (who is no author)."""
    is_admin: bool = False
    """Admins (and the operator) may manage every strategy, built-ins included."""

    @classmethod
    def operator(cls) -> Actor:
        """The person at the command line: trusted with the database, so an admin."""
        return cls(name=OPERATOR_NAME, author_id=None, is_admin=True)

    @classmethod
    def of(cls, author: AuthorInfo) -> Actor:
        return cls(name=author.name, author_id=author.id, is_admin=author.is_admin)


@dataclass(frozen=True, slots=True)
class NewAuthor:
    """A freshly created author and its token: the only moment the token exists outside its holder."""

    author: AuthorInfo
    token: str


def add_author(db: Database, name: str, *, is_admin: bool = False, actor: Actor) -> NewAuthor:
    """Create an author with a fresh token and record it in the audit log."""
    with db.sessions.begin() as session:
        author, token = author_repo.create_author(session, name, is_admin=is_admin)
        audit_repo.record_event(
            session, "author-created", actor.name, detail={"author": author.name, "is_admin": is_admin}
        )
    return NewAuthor(author, token)


def list_authors(db: Database) -> list[AuthorInfo]:
    with db.sessions() as session:
        return author_repo.list_authors(session)


def authenticate(db: Database, token: str) -> Actor | None:
    """The author holding ``token`` as an Actor, or None for an unknown token."""
    if not token:
        return None
    with db.sessions() as session:
        author = author_repo.author_by_token(session, token)
    return None if author is None else Actor.of(author)
