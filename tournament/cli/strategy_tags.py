"""`tournament strategy tag`: labels that schedules select participants by (`schedule add --tags`)."""

import json
from typing import Annotated

import typer

from tournament.cli.options import DbOption, JsonOption, open_db
from tournament.cli.strategy_app import strategy_app
from tournament.cli.strategy_registry import registry_errors


@strategy_app.command("tag")
def tag(
    name: Annotated[
        str | None, typer.Argument(metavar="NAME", help="Strategy name (omit to list every tag in use).")
    ] = None,
    tags: Annotated[list[str] | None, typer.Argument(metavar="TAG", help="Tags to add (kebab-case).")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the given tags instead.")] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Add tags to a strategy (or remove them with --remove) and print its tags; no NAME lists all tags."""
    from tournament.persistence import strategies as strategy_repo

    database = open_db(db)
    try:
        with registry_errors(), database.sessions.begin() as session:
            if name is None:
                listing = strategy_repo.all_tags(session)
            elif remove:
                current = strategy_repo.remove_tags(session, name, tags or [])
            else:
                current = strategy_repo.add_tags(session, name, tags or [])
    finally:
        database.close()
    if name is None:
        if as_json:
            typer.echo(json.dumps(listing, indent=2))
        elif not listing:
            typer.echo("no tags yet (add some with `tournament strategy tag NAME TAG...`)")
        for label, names in listing.items() if not as_json else ():
            typer.echo(f"{label:20} {', '.join(names)}")
        return
    if as_json:
        typer.echo(json.dumps({"strategy": name, "tags": current}, indent=2))
    else:
        typer.echo(f"{name}: {', '.join(current) if current else '(no tags)'}")
