"""Reading results: `tournament leaderboard`, `tournament h2h` and `tournament match show`."""

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tournament.cli.help_format import command_group
from tournament.cli.options import DbOption, JsonOption, open_db

if TYPE_CHECKING:
    from tournament.persistence.database import Database
    from tournament.rules.head_to_head import HeadToHead
    from tournament.services.results import MatchReplay

match_app = command_group("match", "Inspect single matches.")


def leaderboard(
    game: Annotated[str, typer.Option(help="Game whose ratings to show.")] = "rps",
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Ratings across all tournaments of a game (openskill; display rating = mu - 3 sigma)."""
    from dataclasses import asdict

    from rich.console import Console
    from rich.table import Table

    from tournament.services.ratings import leaderboard as compute

    database = open_db(db)
    try:
        board = compute(database, game)
    finally:
        database.close()
    if as_json:
        typer.echo(json.dumps([asdict(r) for r in board], indent=2))
        return
    table = Table(title=f"Leaderboard ({game}, {sum(r.matches for r in board) // 2} matches)")
    for column in ("#", "strategy", "rating", "mu", "sigma", "matches", "W", "D", "L"):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for r in board:
        table.add_row(
            str(r.rank), r.strategy, f"{r.display:.2f}", f"{r.mu:.2f}", f"{r.sigma:.2f}", str(r.matches),
            str(r.wins), str(r.draws), str(r.losses),
        )  # fmt: skip
    Console().print(table)


def h2h(
    tournament_id: Annotated[int, typer.Argument(metavar="ID", help="Tournament id.")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The head-to-head matrix of a tournament: each row's result against each column."""
    from tournament.services.results import tournament_head_to_head

    database = open_db(db)
    try:
        matrix = tournament_head_to_head(database, tournament_id)
    finally:
        database.close()
    if as_json:
        from tournament.services.results import head_to_head_dict

        typer.echo(json.dumps(head_to_head_dict(matrix), indent=2))
        return
    _print_matrix(matrix, tournament_id)


def _print_matrix(matrix: "HeadToHead", tournament_id: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Tournament {tournament_id}: head to head (row's payoff minus column's; W-D-L)")
    table.add_column("", no_wrap=True)
    for index in range(len(matrix.strategies)):
        table.add_column(str(index + 1), justify="right")
    for index, row in enumerate(matrix.strategies):
        cells = []
        for column in matrix.strategies:
            cell = matrix.cell(row, column)
            cells.append(
                ""
                if cell is None
                else f"{cell.payoff - cell.opponent_payoff:+d} {cell.wins}-{cell.draws}-{cell.losses}"
            )
        table.add_row(f"{index + 1} {row}", *cells)
    Console(width=max(120, Console().width)).print(table)


@match_app.command("show")
def show(
    match_id: Annotated[int, typer.Argument(metavar="MATCH_ID", help="Match id (global, as in the API).")],
    offset: Annotated[int, typer.Option(help="First round to show.")] = 0,
    limit: Annotated[int | None, typer.Option(help="Most rounds to show (default: all).")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Replay a match: every round's moves, payoffs, running score and forfeit reasons."""
    from tournament.services.results import match_replay

    if offset < 0 or (limit is not None and limit < 1):
        typer.echo("error: --offset must be >= 0 and --limit >= 1", err=True)
        raise SystemExit(2)
    database = open_db(db)
    try:
        replay = match_replay(database, match_id, offset=offset, limit=limit)
        running = _running_totals(database, match_id, offset) if offset else (0, 0)
    finally:
        database.close()
    if as_json:
        from tournament.services.results import replay_dict

        typer.echo(json.dumps(replay_dict(replay, running), indent=2, default=str))
        return
    _print_replay(replay, running)


def _running_totals(database: "Database", match_id: int, offset: int) -> tuple[int, int]:
    from tournament.services.results import match_replay

    earlier = match_replay(database, match_id, offset=0, limit=offset).rounds
    return sum(r.payoff_a for r in earlier), sum(r.payoff_b for r in earlier)


def _print_replay(replay: "MatchReplay", running: tuple[int, int]) -> None:
    from rich.console import Console
    from rich.table import Table

    from tournament.services.results import replay_dict

    d = replay.detail
    data = replay_dict(replay, running)
    lines = [
        f"match {d.match_id} (tournament {d.tournament_id}, {d.game}, "
        f"repetition {d.repetition}, seed {d.seed})",
        f"{d.strategy_a} {d.version_a} vs {d.strategy_b} {d.version_b}: {d.status}"
        + ("" if d.outcome is None else f", {d.total_a}:{d.total_b}, outcome {d.outcome}"),
    ]
    for side, reason, detail in (
        ("a", d.forfeit_reason_a, d.detail_a),
        ("b", d.forfeit_reason_b, d.detail_b),
    ):
        if reason:
            lines.append(f"first forfeit of {side}: {reason} ({detail})")
    typer.echo("\n".join(lines))
    table = Table()
    for column in ("round", d.strategy_a, d.strategy_b, "payoffs", "score", "forfeits"):
        table.add_column(column, justify="right" if column in ("round", "payoffs", "score") else "left")
    rounds: list[dict[str, Any]] = data["rounds"]  # type: ignore[assignment]
    for r in rounds:
        forfeits = ", ".join(f"{side}: {r[f'forfeit_{side}']}" for side in ("a", "b") if r[f"forfeit_{side}"])
        table.add_row(
            str(r["round"]),
            (r["move_a"] or "-") + (" *" if r["noise_a"] else ""),
            (r["move_b"] or "-") + (" *" if r["noise_b"] else ""),
            f"{r['payoff_a']}:{r['payoff_b']}", f"{r['score_a']}:{r['score_b']}", forfeits,
        )  # fmt: skip
    Console().print(table)
