"""Errors of the service layer that interfaces show as one-line messages."""

from __future__ import annotations


class InvalidRequestError(ValueError):
    """A request that cannot be carried out as given (bad rounds, noise, seed, too few strategies...)."""
