"""Typed rule errors under built-ins, so callers can catch broadly and interfaces can map them to 4xx."""

from __future__ import annotations


class RulesError(ValueError):
    """Base of every error the rules layer raises: the input broke a rule, the engine did not fail."""


class GameDefinitionError(RulesError):
    """A game definition is malformed (too few moves, duplicate labels, a payoff table of the wrong shape)."""


class IllegalMoveError(RulesError):
    """A move index is outside the game's move list; the engine turns this into an illegal-move forfeit."""


class UnknownGameError(RulesError, LookupError):
    """No game is registered under the requested name; the message lists the known ones."""
