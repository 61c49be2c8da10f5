"""What `run`, `resume` and `standings` print: the progress bar, the standings table and the final line."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from tournament.persistence.database import Database
    from tournament.persistence.tournaments import TournamentInfo
    from tournament.rules.standings import Standing

Advance = Callable[[], None]


def print_standings(database: Database, tournament_id: int, as_json: bool) -> None:
    from tournament.services.tournaments import get_tournament, tournament_standings

    rows = tournament_standings(database, tournament_id)
    if as_json:
        typer.echo(json.dumps([standing_dict(s) for s in rows], indent=2))
        return
    info = get_tournament(database, tournament_id)
    standings_table(rows, title=f"Tournament {tournament_id} ({info.game}, seed {info.seed}, {info.status})")


def standing_dict(s: Standing) -> dict[str, object]:
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


def standings_table(rows: list[Standing], title: str) -> None:
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


class MatchProgress:
    """A progress bar on stderr that advances once per finished match (from `done` for a resumed run)."""

    def __init__(self, total: int, done: int = 0) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("matches"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=Console(stderr=True),
        )  # fmt: skip
        self._task = self._progress.add_task("matches", total=total, completed=done)

    def __enter__(self) -> Advance:
        self._progress.start()
        return lambda: self._progress.advance(self._task)

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


def incomplete_message(info: TournamentInfo) -> str | None:
    """The one-line error for a run that ended without finishing (None when it finished)."""
    if info.status == "finished":
        return None
    if info.status == "cancelled":
        return f"tournament {info.id} was cancelled ({info.error or 'by request'})"
    return f"tournament {info.id} {info.status}: {info.error or 'not every match was played'}"
