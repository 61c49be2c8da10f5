"""`tournament strategy submit | list | show | retire`: the strategy registry from the command line.

The person at the command line is the trusted local operator: they may submit versions of any uploaded
strategy, name its owner with `--author`, and retire any version, built-ins included. Heavy modules are
imported inside the commands so `tournament --help` stays fast.
"""

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from tournament.cli.options import BUILTINS_MANIFEST, DbOption, JsonOption, open_db
from tournament.cli.strategy_app import strategy_app

if TYPE_CHECKING:
    from tournament.authoring.report import ValidationReport
    from tournament.services.submissions import StrategyDetail, StrategySummary

__all__ = ["fail", "registry_errors", "strategy_app"]


def fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise SystemExit(code)


@contextlib.contextmanager
def registry_errors() -> Iterator[None]:
    """Turn the registry's typed errors into one `error:` line: exit 2 for bad input, 1 for failures."""
    try:
        yield
    except Exception as error:
        from tournament.authoring.policy import ValidationSetupError
        from tournament.persistence.authors import InvalidAuthorError, UnknownAuthorError
        from tournament.persistence.errors import InvalidStrategyError, UnknownStrategyError
        from tournament.services.errors import InvalidRequestError
        from tournament.services.submissions import NotOwnerError, ValidationUnavailableError

        bad_input = (
            InvalidRequestError, InvalidStrategyError, UnknownStrategyError, InvalidAuthorError,
            UnknownAuthorError, NotOwnerError,
        )  # fmt: skip
        if isinstance(error, bad_input):
            fail(str(error.args[0]) if error.args else str(error), 2)
        if isinstance(error, ValidationUnavailableError | ValidationSetupError):
            fail(str(error), 1)
        raise


def _games(value: str | None) -> list[str]:
    return [] if value is None else [game.strip() for game in value.split(",") if game.strip()]


@strategy_app.command("submit")
def submit(
    file: Annotated[Path, typer.Argument(metavar="FILE.wasm", help="The component to submit.")],
    name: Annotated[str, typer.Option("--name", help="Strategy name (kebab-case).", show_default=False)],
    version: Annotated[
        str | None, typer.Option("--version", help="Version label (default: next patch, or 1.0.0).")
    ] = None,
    author: Annotated[
        str | None, typer.Option("--author", help="Owner of a new strategy (a registered author).")
    ] = None,
    description: Annotated[str | None, typer.Option("--description", help="One-line description.")] = None,
    games: Annotated[
        str | None,
        typer.Option("--games", help="Comma-separated games it plays (default: as before, rps when new)."),
    ] = None,
    language: Annotated[
        str | None, typer.Option("--language", help="Source language, shown in listings.")
    ] = None,
    allow_wasi: Annotated[
        bool, typer.Option("--allow-wasi", help="Admit a WASI component (marked non-deterministic).")
    ] = False,
    tags: Annotated[
        str | None, typer.Option("--tags", help="Comma-separated tags to add to the strategy if admitted.")
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Validate a component and store it as a new version: active if it passes, else rejected with reasons."""
    from tournament.authoring.isolation import validate_isolated
    from tournament.authoring.policy import ValidationPolicy
    from tournament.services.authors import Actor
    from tournament.services.submissions import submit_strategy

    policy = ValidationPolicy(allow_wasi=allow_wasi)
    if tags is not None:
        from tournament.persistence.strategies import validate_tag

        with registry_errors():
            for label in _games(tags):
                validate_tag(label)
    data = _read_component(file, policy.max_size)
    database = open_db(db)
    try:
        with registry_errors():
            result = submit_strategy(
                database, data, name=name, version=version, description=description, games=_games(games),
                language=language, actor=Actor.operator(), owner=author, policy=policy,
                validate=lambda component, chosen: validate_isolated(
                    component, chosen, builtins_manifest=BUILTINS_MANIFEST
                ),
            )  # fmt: skip
            if tags is not None and result.outcome != "rejected":
                from tournament.persistence.strategies import add_tags

                with database.sessions.begin() as session:
                    add_tags(session, name, _games(tags))
    finally:
        database.close()
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        if result.report is not None and result.outcome != "identical":
            from tournament.authoring.report_text import check_line, summary_line

            for check in result.report.checks:
                typer.echo(check_line(check))
            if result.report.passed:
                typer.echo(summary_line(result.report))
        typer.echo(result.message)
    if result.outcome == "rejected":
        raise SystemExit(1)


def _read_component(file: Path, cap: int) -> bytes:
    from tournament.authoring.sizes import binary_size

    try:
        size = file.stat().st_size
        if not file.is_file():
            fail(f"{file} is not a file", 2)
        if size > cap:
            fail(f"{file} is {size:,} bytes, over the size cap of {binary_size(cap)} ({cap:,} bytes)", 2)
        return file.read_bytes()
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror or error}", 2)


@strategy_app.command("list")
def list_command(as_json: JsonOption = False, db: DbOption = None) -> None:
    """List every strategy with its current version, state, language, games, owner and size."""
    from tournament.services.submissions import list_strategies

    database = open_db(db)
    try:
        rows = list_strategies(database)
    finally:
        database.close()
    if as_json:
        typer.echo(json.dumps([row.to_dict() for row in rows], indent=2))
        return
    _strategies_table(rows)


def _strategies_table(rows: "list[StrategySummary]") -> None:
    from rich.console import Console
    from rich.table import Table

    from tournament.authoring.sizes import decimal_size

    table = Table(title=f"{len(rows)} strategies")
    for column in ("name", "version", "state", "language", "games", "owner", "size"):
        table.add_column(column, justify="right" if column == "size" else "left")
    for row in rows:
        owner = "(built-in)" if row.builtin else row.owner or "-"
        table.add_row(
            row.name,
            row.version,
            row.status,
            row.language,
            ",".join(row.games),
            owner,
            decimal_size(row.size),
        )
    Console(width=max(110, Console().width)).print(table)


@strategy_app.command("show")
def show(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Strategy name.")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show a strategy's versions: states, validation reports, fuel profile and rejection reasons."""
    from tournament.services.submissions import show_strategy

    database = open_db(db)
    try:
        with registry_errors():
            detail = show_strategy(database, name)
    finally:
        database.close()
    if as_json:
        typer.echo(json.dumps(detail.to_dict(), indent=2))
        return
    _print_detail(detail)


def _print_detail(detail: "StrategyDetail") -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from tournament.authoring.report_text import check_line
    from tournament.authoring.sizes import decimal_size

    owner = "built-in" if detail.builtin else f"owner {detail.owner or '-'}"
    console = Console(width=max(110, Console().width))
    console.print(f"[bold]{escape(detail.name)}[/bold]  ({owner}; plays {', '.join(detail.games)})")
    if detail.description:
        console.print(escape(detail.description))
    console.print(f"current version: {detail.current_version or 'none (no active version)'}")
    table = Table()
    for column in ("version", "state", "size", "language", "wit", "det.", "fuel/move", "instantiate",
                   "submitted (UTC)"):  # fmt: skip
        table.add_column(column, no_wrap=True)
    for version in detail.versions:
        report = version.parsed_report
        table.add_row(
            version.version + (" *" if version.current else ""), version.status,
            decimal_size(version.size), version.language, version.wit_version,
            "yes" if version.deterministic else "no", _fuel(report),
            "-" if report is None or report.instantiate_ms is None else f"{report.instantiate_ms:.1f} ms",
            f"{version.created_at:%Y-%m-%d %H:%M}",
        )  # fmt: skip
    console.print(table)
    current = next((v for v in detail.versions if v.current), None)
    report = None if current is None else current.parsed_report
    if current is not None and report is not None:
        console.print(f"validation of {escape(current.version)}:", highlight=False)
        for check in report.checks:
            console.print("  " + escape(check_line(check)), highlight=False)
    for version in detail.versions:
        for reason in version.rejection_reasons:
            console.print(f"{escape(version.version)} rejected: {escape(reason)}", highlight=False)


def _fuel(report: "ValidationReport | None") -> str:
    """`mean / max` fuel per move in the smoke matches."""
    if report is None or report.fuel_mean is None or report.fuel_max is None:
        return "-"
    return f"{report.fuel_mean:,.0f} / {report.fuel_max:,}"


@strategy_app.command("retire")
def retire(
    target: Annotated[
        str, typer.Argument(metavar="NAME[@VERSION]", help="Strategy, optionally with a version label.")
    ],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Retire a version (default: the current one): no new tournament picks it; started ones keep it."""
    from tournament.services.authors import Actor
    from tournament.services.submissions import retire as retire_version

    name, _, version = target.partition("@")
    if "@" in target and not version:
        fail(f"missing version after '@' in {target!r} (use NAME@X.Y.Z)", 2)
    database = open_db(db)
    try:
        with registry_errors():
            result = retire_version(database, name, version or None, actor=Actor.operator())
    finally:
        database.close()
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        typer.echo(result.message)
