"""Typed errors of the persistence layer, so interfaces can map them to exit codes and 4xx responses."""

from __future__ import annotations


class PersistenceError(RuntimeError):
    """Base class for failures of the database layer itself (not of the caller's input)."""


class DatabaseError(PersistenceError):
    """The database cannot be opened or migrated: bad URL, unknown dialect, unreachable server, newer schema.

    The message is one line, meant to be shown to users as is.
    """


class MatchAlreadyRecordedError(PersistenceError):
    """A finished match was recorded again; refusing keeps every round counted exactly once."""


class InvalidStrategyError(ValueError):
    """A strategy name, version label or manifest entry is malformed or conflicts with what is stored."""


class UnknownStrategyError(LookupError):
    """A strategy name, version id or component hash is not stored (or does not play the requested game)."""

    def __init__(self, message: str, names: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.names = names
        """The unknown strategy names, when the lookup was by name (empty otherwise)."""


class UnknownTournamentError(LookupError):
    """No tournament with the requested id."""


class UnknownMatchError(LookupError):
    """No match with the requested id."""
