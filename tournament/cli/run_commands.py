"""`tournament resume`, `cancel` and `check`: finishing interrupted runs, stopping runs, checking data."""

import json
import time
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from tournament.cli.options import DbOption, ExecutorOption, JsonOption, open_db

if TYPE_CHECKING:
    from tournament.persistence.database import Database

TournamentId = Annotated[int, typer.Argument(metavar="ID", help="Tournament id.")]
WorkersOption = Annotated[
    int | None,
    typer.Option(help="Worker processes (default: number of cores); with Dask, matches in flight."),
]
CANCEL_POLL_S = 0.5


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def describe_executor(executor: str | None, workers: int | None) -> str:
    """'4 workers', or the Dask scheduler and how many matches may be in flight."""
    import os

    if executor is not None and executor != "local":
        return f"executor {executor}" + (f", {workers} in flight" if workers else "")
    count = workers or os.cpu_count() or 1
    return f"{count} worker{'s' if count != 1 else ''}"


def play_and_report(
    database: "Database", tournament_id: int, *, workers: int | None, executor: str | None, as_json: bool
) -> None:
    """Run (or resume) with a progress bar, print the standings, exit 1 if the run did not finish."""
    from tournament.cli.run_output import MatchProgress, incomplete_message, print_standings
    from tournament.persistence import tournaments as tournament_repo
    from tournament.services.tournaments import prepare_workers, run_tournament

    with database.sessions() as session:
        done, total = tournament_repo.match_counts(session, tournament_id)
    prepare_workers(workers, executor, database)  # before the progress bar's thread
    try:
        with MatchProgress(total, done) as advance:
            final = run_tournament(
                database, tournament_id, workers=workers, executor=executor, on_match=lambda _m, _p: advance()
            )
    except KeyboardInterrupt:
        fail(f"tournament {tournament_id} interrupted; `tournament resume {tournament_id}` finishes it", 130)
    print_standings(database, tournament_id, as_json)
    message = incomplete_message(final)
    if message is not None:
        fail(message, 1)


def resume(
    tournament_id: TournamentId,
    workers: WorkersOption = None,
    executor: ExecutorOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Finish an interrupted (or failed) run: play its unplayed and failed matches, print the standings.

    The result is the same as an uninterrupted run's. Refused while another live process runs it.
    """
    from tournament.persistence import tournaments as tournament_repo
    from tournament.services.runs import live_runner
    from tournament.services.tournaments import check_executor, get_tournament

    if workers is not None and workers < 1:
        fail(f"--workers must be at least 1, got {workers}", 2)
    check_executor(executor)
    database = open_db(db)
    try:
        info = get_tournament(database, tournament_id)
        if info.status == "finished":
            fail(f"tournament {tournament_id} is already finished; nothing to resume", 2)
        if info.status == "cancelled":
            fail(f"tournament {tournament_id} was cancelled; a cancelled tournament cannot be resumed", 2)
        holder = live_runner(database, tournament_id)
        if holder is not None:
            fail(f"tournament {tournament_id} is being run by {holder}", 2)
        with database.sessions() as session:
            done, total = tournament_repo.match_counts(session, tournament_id)
        typer.echo(
            f"tournament {tournament_id}: resuming, {done} of {total} matches already played, "
            f"{describe_executor(executor, workers)}",
            err=as_json,
        )
        play_and_report(database, tournament_id, workers=workers, executor=executor, as_json=as_json)
    finally:
        database.close()


def cancel(
    tournament_id: TournamentId,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait until the runner has stopped and marked it cancelled.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Cancel a tournament: a live run stops at its next match boundary; an orphaned one is cancelled now.

    Matches already recorded stay; unplayed ones stay pending. A cancelled tournament cannot be resumed.
    """
    from tournament.services.runs import CancelOutcome, cancel_tournament, live_runner
    from tournament.services.tournaments import get_tournament

    database = open_db(db)
    try:
        result = cancel_tournament(database, tournament_id)
        if result.outcome is CancelOutcome.ALREADY:
            typer.echo(f"tournament {tournament_id} was already cancelled")
            return
        if result.outcome is CancelOutcome.CANCELLED:
            typer.echo(f"tournament {tournament_id} cancelled")
            return
        typer.echo(
            f"tournament {tournament_id}: cancel requested; its runner {result.runner} stops at the next "
            "match boundary"
        )
        if not wait:
            return
        while (status := get_tournament(database, tournament_id).status) == "running":
            if live_runner(database, tournament_id) is None:
                cancel_tournament(database, tournament_id)
                continue
            time.sleep(CANCEL_POLL_S)
        typer.echo(f"tournament {tournament_id} {status}")
    finally:
        database.close()


def check(
    tournament_id: Annotated[
        int | None, typer.Argument(metavar="ID", help="Check one tournament (default: the whole database).")
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Check the database's integrity: rounds, totals, statuses, participants, component hashes.

    Exit 0 with a one-line summary when everything is consistent, 1 with one line per problem.
    """
    from tournament.services.integrity import check_database

    database = open_db(db)
    try:
        report = check_database(database, tournament_id)
    finally:
        database.close()
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for problem in report.problems:
            typer.echo(problem)
        typer.echo(report.summary(), err=not report.ok)
    if not report.ok:
        raise SystemExit(1)
