"""Top-level commands for authors, the audit log and the HTTP server (being written)."""

from __future__ import annotations

import typer

author_app = typer.Typer(name="author", help="Manage authors and their API tokens.", no_args_is_help=True)


def audit() -> None:
    """Show the audit log."""


def serve() -> None:
    """Serve the HTTP API."""
