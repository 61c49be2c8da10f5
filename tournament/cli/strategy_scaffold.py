"""Commands of `tournament strategy` (being written)."""

from __future__ import annotations

from tournament.cli.strategy_app import strategy_app

__all__ = ["strategy_app"]
