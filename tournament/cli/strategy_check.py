"""`tournament strategy validate` and `tournament strategy try`: check a component and play it locally.

Neither command touches a database except to read submitted opponents for `try`. Heavy modules
(wasmtime, SQLAlchemy) are imported inside the commands so `tournament --help` stays fast.
"""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from tournament.cli.strategy_app import strategy_app

if TYPE_CHECKING:
    from tournament.authoring.trial import TrialMatch
    from tournament.orchestration.match import Forfeit
    from tournament.rules.games import Game

__all__ = ["strategy_app"]

EXIT_FAILED = 1
EXIT_USAGE = 2
MAX_ROUNDS = 1_000_000

FileArgument = Annotated[Path, typer.Argument(metavar="FILE.wasm", help="The strategy component.")]
GameOption = Annotated[str, typer.Option("--game", help="Game: rps, rpsls or ipd.")]


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def _read(file: Path) -> bytes:
    if not file.exists():
        _fail(f"no such file: {file}", EXIT_USAGE)
    if not file.is_file():
        _fail(f"not a file: {file}", EXIT_USAGE)
    try:
        return file.read_bytes()
    except OSError as error:
        _fail(f"cannot read {file}: {error.strerror or error}", EXIT_USAGE)


def _games(text: str) -> tuple[str, ...]:
    from tournament.rules.errors import UnknownGameError
    from tournament.rules.games import get_game

    games = tuple(dict.fromkeys(g.strip() for g in text.split(",") if g.strip()))
    if not games:
        _fail("--game needs at least one game (rps, rpsls or ipd)", EXIT_USAGE)
    for game in games:
        try:
            get_game(game)
        except UnknownGameError as error:
            _fail(str(error), EXIT_USAGE)
    return games


@strategy_app.command("validate")
def validate(
    file: FileArgument,
    game: Annotated[
        str, typer.Option("--game", help="Games to validate for, comma-separated (rps, rpsls, ipd).")
    ] = "rps",
    allow_wasi: Annotated[
        bool,
        typer.Option("--allow-wasi", help="Admit WASI imports (the component is marked non-deterministic)."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    no_isolation: Annotated[
        bool,
        typer.Option("--no-isolation", help="Validate in this process (for your own, trusted components)."),
    ] = False,
) -> None:
    """Run every admission check and print a line per check; exit 1 if any check fails.

    Checks: size cap, compiles, exports the contract with exact signatures, imports only the allow-list,
    instantiates within limits, plays smoke matches against built-ins, plays the same moves twice.
    """
    from tournament.authoring.policy import ValidationPolicy, ValidationSetupError
    from tournament.authoring.report_text import report_lines
    from tournament.cli.options import BUILTINS_MANIFEST

    data = _read(file)
    policy = ValidationPolicy(games=_games(game), allow_wasi=allow_wasi)
    try:
        if no_isolation:
            from tournament.authoring.validation import validate_component

            report = validate_component(data, policy, builtins_manifest=BUILTINS_MANIFEST)
        else:
            from tournament.authoring.isolation import validate_isolated

            report = validate_isolated(data, policy, builtins_manifest=BUILTINS_MANIFEST)
    except ValidationSetupError as error:
        _fail(str(error), EXIT_FAILED)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        typer.echo(f"{file.name}: sha256 {report.content_hash}")
        for line in report_lines(report):
            typer.echo(line)
    if not report.passed:
        raise SystemExit(EXIT_FAILED)


@strategy_app.command("try")
def try_strategy(
    file: FileArgument,
    vs: Annotated[
        str,
        typer.Option(
            "--vs", help="Opponents, comma-separated: built-in names, or submitted strategies (from --db)."
        ),
    ],
    game: GameOption = "rps",
    rounds: Annotated[int, typer.Option(help="Rounds per match.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed; every match seed derives from it and the two names.")] = 0,
    trace: Annotated[
        bool, typer.Option("--trace", help="Print every round and the strategy's log lines.")
    ] = False,
    allow_wasi: Annotated[
        bool, typer.Option("--allow-wasi", help="Let a strategy that imports WASI play (output captured).")
    ] = False,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database to read submitted opponents from (read only). Default: $TOURNAMENT_DB, else the "
            "SQLite file in the user's data folder.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Play local matches against built-in or submitted strategies; nothing is stored anywhere."""
    from tournament.authoring.policy import ValidationSetupError
    from tournament.authoring.trial import TrialError, UnknownOpponentError, play_trial, resolve_opponents
    from tournament.cli.options import BUILTINS_MANIFEST
    from tournament.rules.games import get_game

    data = _read(file)
    if "," in game:
        _fail("--game takes one game for try", EXIT_USAGE)
    (game_name,) = _games(game)
    if not 1 <= rounds <= MAX_ROUNDS:
        _fail(f"--rounds must be between 1 and {MAX_ROUNDS:,}, got {rounds}", EXIT_USAGE)
    if seed < 0:
        _fail(f"--seed must be >= 0, got {seed}", EXIT_USAGE)
    names = list(dict.fromkeys(n.strip() for n in vs.split(",") if n.strip()))
    if not names:
        _fail("--vs needs at least one opponent", EXIT_USAGE)
    try:
        opponents = resolve_opponents(names, game_name, manifest=BUILTINS_MANIFEST, db_url=db)
        matches = play_trial(
            data, file.stem, opponents, game=game_name, rounds=rounds, seed=seed, allow_wasi=allow_wasi
        )
    except UnknownOpponentError as error:
        _fail(str(error), EXIT_USAGE)
    except (TrialError, ValidationSetupError) as error:
        _fail(str(error), EXIT_FAILED)
    played = get_game(game_name)
    typer.echo(f"{file.name} vs {len(matches)} opponent(s): {game_name}, {rounds:,} rounds, seed {seed}")
    _summary_table(matches)
    if trace:
        for match in matches:
            _trace(file.stem, match, played)


def _summary_table(matches: "list[TrialMatch]") -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for column, justify in (
        ("opponent", "left"), ("rounds W/D/L", "right"), ("payoff mine:theirs", "right"),
        ("outcome", "left"), ("my forfeits", "left"), ("their forfeits", "left"),
    ):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for match in matches:
        score = match.played.score
        table.add_row(
            f"{match.opponent.name} ({match.opponent.source})",
            f"{score.wins_a}/{score.draws}/{score.wins_b}",
            f"{score.total_a}:{score.total_b}",
            {"a": "win", "b": "loss"}.get(str(score.outcome), "draw"),
            _forfeits(score.forfeits_a, match.played.first_forfeit_a),
            _forfeits(score.forfeits_b, match.played.first_forfeit_b),
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=1000)  # pipes and files get whole rows, never wrapped cells
    console.print(table)


def _forfeits(count: int, first: "Forfeit | None") -> str:
    if count == 0 or first is None:
        return str(count)
    return f"{count} (first: {first.reason}: {first.detail})"


def _trace(name: str, match: "TrialMatch", game: "Game") -> None:
    """Every round from the candidate's side, then its log lines."""
    played = match.played
    typer.echo("")
    typer.echo(f"{name} vs {match.opponent.name} (match seed {match.seed}):")
    typer.echo(f"{'round':>6}  {'mine':<10} {'theirs':<10} {'payoff':>7} {'score':>11}  notes")
    mine = theirs = 0
    for record in played.rounds:
        mine += record.payoff_a
        theirs += record.payoff_b
        notes = [
            f"{who} forfeit: {reason}"
            for who, reason in (("my", record.forfeit_a), ("their", record.forfeit_b))
            if reason is not None
        ]
        notes += [
            f"noise changed {who} move"
            for who, hit in (("my", record.noise_a), ("their", record.noise_b))
            if hit
        ]
        payoff, score = f"{record.payoff_a:+d}:{record.payoff_b:+d}", f"{mine}:{theirs}"
        row = (
            f"{record.index:>6}  {_label(game, record.move_a):<10} {_label(game, record.move_b):<10} "
            f"{payoff:>7} {score:>11}  {'; '.join(notes)}"
        )
        typer.echo(row.rstrip())
    for who, first in (("my", played.first_forfeit_a), ("their", played.first_forfeit_b)):
        if first is not None:
            typer.echo(f"{who} first forfeit: {first.reason}: {first.detail}")
    logs = [(round_index, message) for side, round_index, message in played.logs if side == "a"]
    typer.echo(f"log lines from {name}: {len(logs)}")
    for round_index, message in logs:
        typer.echo(f"  [round {round_index}] {message}")


def _label(game: "Game", move: int | None) -> str:
    return "-" if move is None else game.label(move)
