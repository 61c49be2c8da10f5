"""`tournament`: run round-robin tournaments between WebAssembly strategies and read their results.

Heavy modules (wasmtime, SQLAlchemy) are imported inside commands so `tournament --help` stays fast.
For the same reason the command modules do not use `from __future__ import annotations`: Typer reads
every command's signature (twice) on every call, even `--help`, and string annotations would each be
compiled and evaluated there, ~20-30 ms for the whole tree; names imported only for type checking are
quoted instead.
"""

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from tournament.cli.help_format import command_group
from tournament.cli.options import BUILTINS_MANIFEST, DbOption, ExecutorOption, JsonOption, open_db

if TYPE_CHECKING:
    from tournament.persistence.database import Database

app = command_group(
    "tournament", "Round-robin tournaments between sandboxed WebAssembly strategy components.", root=True
)

__all__ = ["BUILTINS_MANIFEST", "DbOption", "JsonOption", "app", "main"]


def _open(url: str | None) -> "Database":
    return open_db(url)


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise SystemExit(code)


@app.command()
def run(
    game: Annotated[str, typer.Option(help="Game to play: rps, rpsls or ipd.")] = "rps",
    rounds: Annotated[int, typer.Option(help="Rounds per match.")] = 1000,
    seed: Annotated[int | None, typer.Option(help="Tournament seed (default: random, recorded).")] = None,
    strategies: Annotated[
        str | None,
        typer.Option(help="Comma-separated strategy names (default: every active one for the game)."),
    ] = None,
    repetitions: Annotated[int, typer.Option(help="Matches per pair of strategies.")] = 1,
    noise: Annotated[
        float, typer.Option(help="Probability that a move is replaced by a different random one.")
    ] = 0.0,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes (default: number of cores); with Dask, matches in flight."),
    ] = None,
    executor: ExecutorOption = None,
    history: Annotated[
        str,
        typer.Option(help="Earlier meetings told to players: none, tournament (earlier repetitions) or all."),
    ] = "tournament",
    hidden_rounds: Annotated[
        bool, typer.Option(help="Do not tell strategies how many rounds a match has.")
    ] = False,
    allow_wasi: Annotated[
        bool,
        typer.Option(
            help="Admit strategies that import WASI (no files or network, output captured); results are "
            "then not guaranteed reproducible."
        ),
    ] = False,
    fuel_per_move: Annotated[int | None, typer.Option(help="Fuel (wasm instructions) per move call.")] = None,
    timeout_ms: Annotated[
        int | None, typer.Option(help="Wall-clock deadline per call, in milliseconds.")
    ] = None,
    memory_mb: Annotated[int | None, typer.Option(help="Linear memory cap per instance, in MiB.")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Create a round-robin tournament, run it, and print its standings."""
    import dataclasses

    from tournament.cli.run_commands import describe_executor, play_and_report
    from tournament.sandbox.limits import SandboxLimits
    from tournament.services.tournaments import (
        HistoryScope,
        TournamentRequest,
        check_executor,
        create_tournament,
        get_tournament,
    )

    try:
        scope = HistoryScope(history)
    except ValueError:
        _fail(f"--history must be one of {', '.join(s.value for s in HistoryScope)}, got {history!r}", 2)
    if workers is not None and workers < 1:
        _fail(f"--workers must be at least 1, got {workers}", 2)
    overrides = {
        key: value
        for key, value in {
            "fuel_per_move": fuel_per_move,
            "timeout_ms": timeout_ms,
            "memory_bytes": None if memory_mb is None else memory_mb * 1024 * 1024,
        }.items()
        if value is not None
    }
    try:
        limits = dataclasses.replace(SandboxLimits(), **overrides)
    except ValueError as error:
        _fail(str(error), 2)
    names = None if strategies is None else [n.strip() for n in strategies.split(",") if n.strip()]
    request = TournamentRequest(
        game=game,
        rounds=rounds,
        seed=seed,
        strategies=names,
        repetitions=repetitions,
        noise=noise,
        hidden_rounds=hidden_rounds,
        history=scope,
        limits=limits,
        allow_wasi=allow_wasi,
    )
    check_executor(executor)
    database = _open(db)
    try:
        tournament_id = create_tournament(database, request)
        info = get_tournament(database, tournament_id)
        n = len(info.participants)
        matches = n * (n - 1) // 2 * info.repetitions
        typer.echo(
            f"tournament {tournament_id}: {info.game}, {n} strategies, {matches} matches x {info.rounds} "
            f"rounds, seed {info.seed}, {describe_executor(executor, workers)}",
            err=as_json,
        )
        play_and_report(database, tournament_id, workers=workers, executor=executor, as_json=as_json)
    finally:
        database.close()


@app.command()
def standings(
    tournament_id: Annotated[int, typer.Argument(metavar="ID", help="Tournament id.")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Print a tournament's standings again, from the database."""
    from tournament.cli.run_output import print_standings

    database = _open(db)
    try:
        print_standings(database, tournament_id, as_json)
    finally:
        database.close()


@app.command()
def export(
    tournament_id: Annotated[int, typer.Argument(metavar="ID", help="Tournament id.")],
    rounds: Annotated[bool, typer.Option("--rounds", help="Every round of every match.")] = False,
    standings_table: Annotated[bool, typer.Option("--standings", help="The standings.")] = False,
    head_to_head: Annotated[
        bool, typer.Option("--h2h", help="The head-to-head matrix, one row per pair.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Export a tournament's results as CSV (with a header row, in a stable order)."""
    from tournament.services.exports import write_head_to_head_csv, write_rounds_csv, write_standings_csv
    from tournament.services.results import tournament_head_to_head
    from tournament.services.tournaments import tournament_standings

    if [rounds, standings_table, head_to_head].count(True) != 1:
        _fail("choose exactly one of --rounds, --standings or --h2h", 2)
    database = _open(db)
    try:
        out = sys.stdout if output is None else output.open("w", encoding="utf-8", newline="")
        try:
            if rounds:
                write_rounds_csv(database, tournament_id, out)
            elif standings_table:
                write_standings_csv(tournament_standings(database, tournament_id), out)
            else:
                write_head_to_head_csv(tournament_head_to_head(database, tournament_id), out)
        finally:
            if output is not None:
                out.close()
    finally:
        database.close()


@app.command()
def games(as_json: JsonOption = False) -> None:
    """List the built-in games with their moves and payoff tables."""
    from tournament.rules.games import builtin_games

    listed = [
        {"name": g.name, "moves": list(g.moves), "ranking": str(g.ranking), "description": g.description}
        for g in builtin_games().values()
    ]
    if as_json:
        typer.echo(json.dumps(listed, indent=2))
        return
    for entry in listed:
        typer.echo(
            f"{entry['name']:8} {', '.join(entry['moves'])}  ({entry['ranking']})  {entry['description']}"
        )


def main() -> None:
    """Console entry point: known errors become one line on stderr and a non-zero exit, never a traceback."""
    try:
        app()
    except Exception as error:
        _fail_known(error)
        raise


def _fail_known(error: Exception) -> None:
    """Exit with a one-line message for the documented error types (imported only when one occurs)."""
    from tournament.persistence.errors import (
        PersistenceError,
        UnknownMatchError,
        UnknownStrategyError,
        UnknownTournamentError,
    )
    from tournament.rules.errors import RulesError
    from tournament.sandbox.errors import SandboxError
    from tournament.services.errors import InvalidRequestError, LeaseLostError

    while isinstance(error, ExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]  # a run's anyio task group wraps its one failure
    if isinstance(error, InvalidRequestError | RulesError):
        _fail(str(error), 2)
    if isinstance(error, UnknownStrategyError | UnknownTournamentError | UnknownMatchError):
        _fail(str(error.args[0]) if error.args else str(error), 2)
    if isinstance(error, PersistenceError | SandboxError | OSError | LeaseLostError):
        _fail(str(error), 1)


def _register_groups() -> None:
    """Command groups live in their own modules; importing them registers their commands."""
    from tournament.cli import (  # noqa: F401
        strategy_check,
        strategy_registry,
        strategy_scaffold,
        strategy_tags,
    )
    from tournament.cli.admin_commands import audit, author_app, serve
    from tournament.cli.results_commands import h2h, leaderboard, match_app
    from tournament.cli.run_commands import cancel, check, resume
    from tournament.cli.schedule_commands import schedule_app, scheduler
    from tournament.cli.strategy_app import strategy_app

    app.command("resume")(resume)
    app.command("cancel")(cancel)
    app.command("check")(check)
    app.command("leaderboard")(leaderboard)
    app.command("h2h")(h2h)
    app.add_typer(match_app)
    app.add_typer(strategy_app)
    app.add_typer(author_app)
    app.command("audit")(audit)
    app.command("serve")(serve)
    app.add_typer(schedule_app)
    app.command("scheduler")(scheduler)


_register_groups()


if __name__ == "__main__":
    main()
