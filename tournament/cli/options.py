"""Options and helpers shared by every command module (kept light: no heavy imports at module level)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tournament.paths import BUILTINS_MANIFEST

if TYPE_CHECKING:
    from tournament.persistence.database import Database

__all__ = ["BUILTINS_MANIFEST", "DbOption", "ExecutorOption", "JsonOption", "open_db"]

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (sqlite:///file.db or postgresql://...). Default: $TOURNAMENT_DB, else a SQLite "
        "file in the user's data folder.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def open_db(url: str | None) -> Database:
    """Open (create or migrate) the database; the built-in strategies are registered on every open."""
    from tournament.persistence.database import open_database

    return open_database(url, builtins_manifest=BUILTINS_MANIFEST)


ExecutorOption = Annotated[
    str | None,
    typer.Option(
        "--executor",
        help="Where matches run: local (worker processes on this machine, the default) or dask://HOST:PORT "
        "(a Dask scheduler).",
        show_default=False,
    ),
]
