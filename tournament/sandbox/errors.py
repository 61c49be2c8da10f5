"""Errors raised by the sandbox host."""

from __future__ import annotations


class SandboxError(RuntimeError):
    """Base class for host-side failures."""


class BadComponentError(SandboxError, ValueError):
    """A component cannot be used: it does not compile, or does not fit the contract.

    The message is one line and says what is wrong (expected vs found where that applies).
    """


class EngineCapacityError(SandboxError):
    """The engine's instance pool stayed full even after a garbage collection: a host-side fault (players
    not closed), never the strategy's, so it fails the match instead of forfeiting it."""
