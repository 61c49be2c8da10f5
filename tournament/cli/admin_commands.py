"""`tournament author add | list`, `tournament audit` and `tournament serve`: the operator's commands.

Heavy modules are imported inside the commands so `tournament --help` stays fast.
"""

import json
from typing import TYPE_CHECKING, Annotated

import typer

from tournament.cli.help_format import command_group
from tournament.cli.options import BUILTINS_MANIFEST, DbOption, JsonOption, open_db
from tournament.cli.strategy_registry import fail, registry_errors

if TYPE_CHECKING:
    from tournament.persistence.audit import AuditEventInfo

author_app = command_group("author", "Manage authors and their API tokens.")


@author_app.command("add")
def author_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Author name (lowercase, e.g. alice).")],
    admin: Annotated[
        bool, typer.Option("--admin", help="May submit to and retire any strategy, built-ins included.")
    ] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Create an author and print their API token (shown only this once; only its hash is stored)."""
    from tournament.services.authors import Actor, add_author

    database = open_db(db)
    try:
        with registry_errors():
            created = add_author(database, name, is_admin=admin, actor=Actor.operator())
    finally:
        database.close()
    if as_json:
        typer.echo(
            json.dumps({"name": created.author.name, "is_admin": admin, "token": created.token}, indent=2)
        )
        return
    role = "admin" if admin else "author"
    typer.echo(
        f"created {role} {created.author.name}; API token (shown only once, keep it secret):", err=True
    )
    typer.echo(created.token)


@author_app.command("list")
def author_list(as_json: JsonOption = False, db: DbOption = None) -> None:
    """List authors, whether they are admins, and how many strategies each owns."""
    from tournament.services.authors import list_authors

    database = open_db(db)
    try:
        authors = list_authors(database)
    finally:
        database.close()
    if as_json:
        listed = [
            {"name": a.name, "is_admin": a.is_admin, "strategies": a.strategies,
             "created_at": a.created_at.isoformat()}
            for a in authors
        ]  # fmt: skip
        typer.echo(json.dumps(listed, indent=2))
        return
    if not authors:
        typer.echo("no authors yet (add one with `tournament author add NAME`)")
        return
    for a in authors:
        role = "admin " if a.is_admin else "author"
        typer.echo(
            f"{a.name:24} {role}  {a.strategies:3} strateg{'y' if a.strategies == 1 else 'ies'}  "
            f"since {a.created_at:%Y-%m-%d}"
        )


def audit(
    strategy: Annotated[
        str | None, typer.Option("--strategy", help="Only events of this strategy.", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Most events to show (newest first).")] = 50,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show the audit log: submissions, validation results, state changes, forfeits and new authors."""
    from tournament.services.submissions import audit_log

    database = open_db(db)
    try:
        with registry_errors():
            events = audit_log(database, strategy, limit)
    finally:
        database.close()
    if as_json:
        typer.echo(json.dumps([event.to_dict() for event in events], indent=2))
        return
    if not events:
        typer.echo("no audit events")
        return
    for event in events:
        typer.echo(_event_line(event))


def _event_line(event: "AuditEventInfo") -> str:
    """One line per event: `#12 2026-11-22 10:00:01 state-changed  cli  rotate 1.0.0  active -> retired`."""
    detail = event.detail
    subject = " ".join(part for part in (event.strategy, event.version) if part) or "-"
    if event.kind == "state-changed":
        summary = f"{detail.get('from')} -> {detail.get('to')}"
    elif event.kind == "validated":
        failures = detail.get("failures") or []
        summary = "passed" if detail.get("passed") else "failed: " + "; ".join(map(str, failures))
    elif event.kind == "forfeit":
        summary = (
            f"{detail.get('reason')} in match {event.match_id} vs {detail.get('opponent')} "
            f"(tournament {detail.get('tournament_id')}): {detail.get('detail')}"
        )
    elif event.kind == "submitted":
        summary = f"{detail.get('size')} bytes, sha256 {str(detail.get('content_hash'))[:12]}"
    else:
        summary = ", ".join(f"{key}={value}" for key, value in detail.items())
    stamp = f"{event.at:%Y-%m-%d %H:%M:%S}"
    return f"#{event.id:<5} {stamp} {event.kind:13} {event.actor:10} {subject}  {summary}"


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    allow_wasi: Annotated[
        bool, typer.Option("--allow-wasi", help="Admit uploaded WASI components (non-deterministic).")
    ] = False,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Do not fire schedules here (run `tournament scheduler`).")
    ] = False,
    poll: Annotated[
        float, typer.Option("--poll", min=0.1, help="Seconds between looks for due schedules.")
    ] = 30.0,
    db: DbOption = None,
) -> None:
    """Serve the HTTP JSON API (OpenAPI at /openapi.json, docs at /docs) and fire due schedules until
    interrupted."""
    database = open_db(db)  # fail fast, with one line, on a bad URL or an unreachable server
    url = database.url
    database.close()

    import uvicorn

    from tournament.api.app import create_app
    from tournament.authoring.policy import ValidationPolicy
    from tournament.persistence.database import display_url

    app = create_app(url, builtins_manifest=BUILTINS_MANIFEST, policy=ValidationPolicy(allow_wasi=allow_wasi))
    typer.echo(
        f"serving the tournament API on http://{host}:{port} (database {display_url(url)}); "
        "press Ctrl+C to stop",
        err=True,
    )
    from tournament.cli.schedule_commands import start_background_scheduler, stop_background_scheduler

    background = None if no_scheduler else start_background_scheduler(url, poll)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    except OSError as error:
        fail(f"cannot serve on {host}:{port}: {error.strerror or error}", 1)
    finally:
        if background is not None:
            stop_background_scheduler(*background, grace=10.0)
