"""Errors of the service layer that interfaces show as one-line messages."""

from __future__ import annotations


class InvalidRequestError(ValueError):
    """A request that cannot be carried out as given (bad rounds, noise, seed, too few strategies...)."""


class TournamentBusyError(InvalidRequestError):
    """Another live process holds the tournament's run lease (its heartbeat is fresh)."""


class TournamentStateError(InvalidRequestError):
    """The tournament's status does not allow the request (resuming a finished or cancelled one...)."""


class LeaseLostError(RuntimeError):
    """This run's lease was taken over by another runner (after it looked stale); this run stopped."""
