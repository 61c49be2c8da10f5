"""`tournament`: run round-robin tournaments between WebAssembly strategies and read their results.

Heavy modules (wasmtime, SQLAlchemy) are imported inside commands so `tournament --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from tournament.cli.options import BUILTINS_MANIFEST, DbOption, JsonOption, open_db

if TYPE_CHECKING:
    from tournament.persistence.database import Database
    from tournament.rules.standings import Standing

app = typer.Typer(
    name="tournament",
    help="Round-robin tournaments between sandboxed WebAssembly strategy components.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

__all__ = ["BUILTINS_MANIFEST", "DbOption", "JsonOption", "app", "main"]


def _open(url: str | None) -> Database:
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
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: number of cores).")] = None,
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
    import os

    from tournament.sandbox.limits import SandboxLimits
    from tournament.services.tournaments import (
        HistoryScope,
        TournamentRequest,
        create_tournament,
        run_tournament,
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
    database = _open(db)
    try:
        tournament_id = create_tournament(database, request)
        workers = workers or os.cpu_count() or 1
        from tournament.services.tournaments import get_tournament

        info = get_tournament(database, tournament_id)
        n = len(info.participants)
        matches = n * (n - 1) // 2 * info.repetitions
        typer.echo(
            f"tournament {tournament_id}: {info.game}, {n} strategies, {matches} matches x {info.rounds} "
            f"rounds, seed {info.seed}, {workers} worker{'s' if workers != 1 else ''}",
            err=as_json,
        )
        with _Progress(matches) as advance:
            run_tournament(database, tournament_id, workers=workers, on_match=lambda _m, _p: advance())
        _print_standings(database, tournament_id, as_json)
    finally:
        database.close()


@app.command()
def standings(
    tournament_id: Annotated[int, typer.Argument(metavar="ID", help="Tournament id.")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Print a tournament's standings again, from the database."""
    database = _open(db)
    try:
        _print_standings(database, tournament_id, as_json)
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


def _print_standings(database: Database, tournament_id: int, as_json: bool) -> None:
    from tournament.services.tournaments import get_tournament, tournament_standings

    rows = tournament_standings(database, tournament_id)
    if as_json:
        typer.echo(json.dumps([_standing_dict(s) for s in rows], indent=2))
        return
    info = get_tournament(database, tournament_id)
    _standings_table(rows, title=f"Tournament {tournament_id} ({info.game}, seed {info.seed}, {info.status})")


def _standing_dict(s: Standing) -> dict[str, object]:
    return {
        "rank": s.rank,
        "strategy": s.strategy,
        "points": s.points,
        "wins": s.wins,
        "draws": s.draws,
        "losses": s.losses,
        "total_payoff": s.total_payoff,
        "mean_payoff": s.mean_payoff,
        "matches": s.matches,
        "rounds": s.rounds,
        "forfeits": s.forfeits,
    }


def _standings_table(rows: list[Standing], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column, justify in (
        ("#", "right"), ("strategy", "left"), ("points", "right"), ("W", "right"), ("D", "right"),
        ("L", "right"), ("total payoff", "right"), ("mean payoff", "right"), ("forfeits", "right"),
    ):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for s in rows:
        table.add_row(
            str(s.rank), s.strategy, str(s.points), str(s.wins), str(s.draws), str(s.losses),
            str(s.total_payoff), f"{s.mean_payoff:.4f}", str(s.forfeits),
        )  # fmt: skip
    Console(width=max(100, Console().width)).print(table)


class _Progress:
    """A progress bar on stderr that advances once per finished match."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("matches"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=Console(stderr=True),
        )  # fmt: skip
        self._task = self._progress.add_task("matches", total=total)

    def __enter__(self) -> _Advance:
        self._progress.start()
        return lambda: self._progress.advance(self._task)

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


if TYPE_CHECKING:
    from collections.abc import Callable

    _Advance = Callable[[], None]


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
    from tournament.services.errors import InvalidRequestError

    if isinstance(error, InvalidRequestError | RulesError):
        _fail(str(error), 2)
    if isinstance(error, UnknownStrategyError | UnknownTournamentError | UnknownMatchError):
        _fail(str(error.args[0]) if error.args else str(error), 2)
    if isinstance(error, PersistenceError | SandboxError | OSError):
        _fail(str(error), 1)


def _register_groups() -> None:
    """Command groups live in their own modules; importing them registers their commands."""
    from tournament.cli import strategy_check, strategy_registry, strategy_scaffold  # noqa: F401
    from tournament.cli.admin_commands import audit, author_app, serve
    from tournament.cli.results_commands import h2h, leaderboard, match_app
    from tournament.cli.strategy_app import strategy_app

    app.command("leaderboard")(leaderboard)
    app.command("h2h")(h2h)
    app.add_typer(match_app)
    app.add_typer(strategy_app)
    app.add_typer(author_app)
    app.command("audit")(audit)
    app.command("serve")(serve)


_register_groups()


if __name__ == "__main__":
    main()
