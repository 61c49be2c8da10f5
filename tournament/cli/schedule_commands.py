"""`tournament schedule add | list | pause | resume | remove | run-now` and `tournament scheduler`.

Heavy modules are imported inside the commands so `tournament --help` stays fast.
"""

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from tournament.cli.help_format import command_group
from tournament.cli.options import DbOption, ExecutorOption, JsonOption, open_db
from tournament.cli.strategy_registry import fail

if TYPE_CHECKING:
    from tournament.services.scheduler import Scheduler
    from tournament.services.schedules import ScheduleView

schedule_app = command_group(
    "schedule", "Tournament templates run on a cron schedule (fired by `tournament scheduler`)."
)

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="Schedule name (kebab-case).")]
DEFAULT_POLL_S = 30.0
DEFAULT_GRACE_S = 30.0


@contextlib.contextmanager
def schedule_errors() -> Iterator[None]:
    """Bad input (unknown schedule, strategy, tag, game; invalid cron or zone) -> exit 2; other known -> 1."""
    try:
        yield
    except Exception as error:
        from tournament.persistence.errors import InvalidStrategyError, PersistenceError, UnknownStrategyError
        from tournament.persistence.schedules import DuplicateScheduleError, UnknownScheduleError
        from tournament.rules.errors import RulesError
        from tournament.services.errors import InvalidRequestError

        bad_input = (
            InvalidRequestError, RulesError, UnknownScheduleError, DuplicateScheduleError,
            UnknownStrategyError, InvalidStrategyError,
        )  # fmt: skip
        if isinstance(error, bad_input):
            fail(str(error.args[0]) if error.args else str(error), 2)
        if isinstance(error, PersistenceError):
            fail(str(error), 1)
        raise


def _names(value: str | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(n.strip() for n in value.split(",") if n.strip())


@schedule_app.command("add")
def add(
    name: NameArgument,
    cron: Annotated[
        str, typer.Option("--cron", help='Cron expression, e.g. "0 3 * * *" (5 fields) or @daily.')
    ],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone the cron is read in.")] = "UTC",
    game: Annotated[str, typer.Option("--game", help="Game to play: rps, rpsls or ipd.")] = "rps",
    rounds: Annotated[int, typer.Option("--rounds", help="Rounds per match.")] = 1000,
    repetitions: Annotated[int, typer.Option("--repetitions", help="Matches per pair of strategies.")] = 1,
    noise: Annotated[float, typer.Option("--noise", help="Probability that a move is replaced.")] = 0.0,
    hidden_rounds: Annotated[
        bool, typer.Option("--hidden-rounds", help="Do not tell strategies how many rounds a match has.")
    ] = False,
    history: Annotated[
        str, typer.Option("--history", help="Earlier meetings told to players: none, tournament or all.")
    ] = "tournament",
    fuel_per_move: Annotated[
        int | None, typer.Option("--fuel-per-move", help="Fuel (wasm instructions) per move call.")
    ] = None,
    timeout_ms: Annotated[
        int | None, typer.Option("--timeout-ms", help="Wall-clock deadline per call, in milliseconds.")
    ] = None,
    memory_mb: Annotated[
        int | None, typer.Option("--memory-mb", help="Linear memory cap per instance, in MiB.")
    ] = None,
    allow_wasi: Annotated[
        bool, typer.Option("--allow-wasi", help="Admit strategies that import WASI (not reproducible).")
    ] = False,
    strategies: Annotated[
        str | None,
        typer.Option(
            "--strategies", help="Comma-separated names (default: every active strategy of the game)."
        ),
    ] = None,
    tags: Annotated[
        str | None,
        typer.Option("--tags", help="Comma-separated tags: active strategies carrying any of them."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="The same seed for every run.")] = None,
    seed_from_date: Annotated[
        bool,
        typer.Option("--seed-from-date", help="Derive each run's seed from its slot (the default)."),
    ] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Worker processes per run (default: number of cores).")
    ] = None,
    executor: ExecutorOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Define a tournament template and when it runs; participants are chosen when each run starts."""
    from tournament.persistence.models import utcnow
    from tournament.services.schedules import Template, add_schedule, list_schedules

    if seed is not None and seed_from_date:
        fail("choose either --seed N or --seed-from-date", 2)
    template = Template(
        game=game, rounds=rounds, repetitions=repetitions, noise=noise, hidden_rounds=hidden_rounds,
        history=history, fuel_per_move=fuel_per_move, timeout_ms=timeout_ms,
        memory_bytes=None if memory_mb is None else memory_mb * 1024 * 1024, allow_wasi=allow_wasi,
        strategies=_names(strategies), tags=_names(tags), seed=seed, workers=workers, executor=executor,
    )  # fmt: skip
    with schedule_errors():
        database = open_db(db)
        try:
            created = add_schedule(
                database, name, cron=cron, timezone=timezone, template=template, now=utcnow()
            )
            view = next(v for v in list_schedules(database) if v.schedule.id == created.id)
        finally:
            database.close()
    if as_json:
        typer.echo(json.dumps(view.to_dict(), indent=2))
        return
    entry = view.to_dict()
    typer.echo(f"added schedule {name}: {created.cron} ({created.timezone}), next run {_when(entry)}")


def _when(entry: dict[str, object]) -> str:
    """`2026-11-23 03:00 CET (02:00 UTC)` from a listing entry, or `-`."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    utc = entry["next_run_utc"]
    if not isinstance(utc, str):
        return "-"
    at_utc = datetime.fromisoformat(utc)
    at = at_utc.astimezone(ZoneInfo(str(entry["timezone"])))
    return f"{at:%Y-%m-%d %H:%M} {at.tzname()} ({at_utc:%Y-%m-%d %H:%M} UTC)"


@schedule_app.command("list")
def list_command(as_json: JsonOption = False, db: DbOption = None) -> None:
    """List schedules: cron, zone, next run (local and UTC), paused, last run with its tournament."""
    from tournament.services.schedules import list_schedules

    database = open_db(db)
    try:
        views = list_schedules(database)
    finally:
        database.close()
    if as_json:
        typer.echo(json.dumps([v.to_dict() for v in views], indent=2))
        return
    if not views:
        typer.echo("no schedules (add one with `tournament schedule add NAME --cron ...`)")
        return
    _table(views)


def _table(views: "list[ScheduleView]") -> None:
    from zoneinfo import ZoneInfo

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(views)} schedule{'s' if len(views) != 1 else ''}")
    for column in ("name", "cron", "time zone", "next run", "paused", "last run", "tournament"):
        table.add_column(column, no_wrap=True)
    for view in views:
        entry = view.to_dict()
        last = view.schedule.last_run_at
        zone = ZoneInfo(view.schedule.timezone)
        last_text = "-" if last is None else f"{last.astimezone(zone):%Y-%m-%d %H:%M %Z}"
        tournament = (
            "-" if view.last_run is None else f"#{view.last_run.tournament_id} {view.last_run.status}"
        )
        table.add_row(
            view.schedule.name, view.schedule.cron, view.schedule.timezone,
            "(paused)" if view.schedule.paused else _when(entry), "yes" if view.schedule.paused else "no",
            last_text, tournament,
        )  # fmt: skip
    Console(width=max(130, Console().width)).print(table)


@schedule_app.command("pause")
def pause(name: NameArgument, db: DbOption = None) -> None:
    """Stop firing a schedule until `schedule resume`."""
    from tournament.services.schedules import pause_schedule

    database = open_db(db)
    try:
        with schedule_errors():
            pause_schedule(database, name)
    finally:
        database.close()
    typer.echo(f"paused schedule {name}")


@schedule_app.command("resume")
def resume(name: NameArgument, db: DbOption = None) -> None:
    """Fire a paused schedule again, from its first slot after now (missed slots are not run)."""
    from tournament.persistence.models import utcnow
    from tournament.services.schedules import list_schedules, resume_schedule

    database = open_db(db)
    try:
        with schedule_errors():
            resume_schedule(database, name, utcnow())
            entry = next(v for v in list_schedules(database) if v.schedule.name == name).to_dict()
    finally:
        database.close()
    typer.echo(f"resumed schedule {name}, next run {_when(entry)}")


@schedule_app.command("remove")
def remove(name: NameArgument, db: DbOption = None) -> None:
    """Delete a schedule; the tournaments it ran are kept."""
    from tournament.services.schedules import remove_schedule

    database = open_db(db)
    try:
        with schedule_errors():
            remove_schedule(database, name)
    finally:
        database.close()
    typer.echo(f"removed schedule {name} (its tournaments are kept)")


@schedule_app.command("run-now")
def run_now(name: NameArgument, as_json: JsonOption = False, db: DbOption = None) -> None:
    """Create a tournament from the schedule's template now and run it here, like `tournament run`."""
    from tournament.cli.run_commands import describe_executor, play_and_report
    from tournament.persistence.models import utcnow
    from tournament.services.schedules import Template, get_schedule, start_now
    from tournament.services.tournaments import get_tournament

    database = open_db(db)
    try:
        with schedule_errors():
            template = Template.from_dict(get_schedule(database, name).template)
            tournament_id = start_now(database, name, utcnow())
        info = get_tournament(database, tournament_id)
        n = len(info.participants)
        matches = n * (n - 1) // 2 * info.repetitions
        typer.echo(
            f"tournament {tournament_id}: {info.game}, {n} strategies, {matches} matches x {info.rounds} "
            f"rounds, seed {info.seed}, {describe_executor(template.executor, template.workers)} "
            f"(schedule {name})",
            err=as_json,
        )
        play_and_report(
            database, tournament_id, workers=template.workers, executor=template.executor, as_json=as_json
        )
    finally:
        database.close()


def stderr_log() -> Callable[[str], None]:
    """One timestamped line per event on stderr; safe to call from run threads."""
    from tournament.persistence.models import utcnow

    lock = threading.Lock()

    def log(line: str) -> None:
        with lock:
            typer.echo(f"{utcnow():%Y-%m-%dT%H:%M:%SZ} scheduler: {line}", err=True)

    return log


def scheduler(
    poll: Annotated[
        float, typer.Option("--poll", min=0.1, help="Seconds between looks for due schedules.")
    ] = DEFAULT_POLL_S,
    once: Annotated[
        bool, typer.Option("--once", help="One pass: finish interrupted runs, fire what is due, wait, exit.")
    ] = False,
    grace: Annotated[
        float,
        typer.Option("--grace", min=0, help="On SIGTERM/SIGINT, seconds to let running tournaments finish."),
    ] = DEFAULT_GRACE_S,
    db: DbOption = None,
) -> None:
    """Fire due schedules and finish interrupted runs until stopped (SIGTERM or Ctrl+C)."""
    import signal

    from tournament.services.scheduler import Scheduler

    log = stderr_log()
    database = open_db(db)
    try:
        runner = Scheduler(database, log)
        received: list[int] = []

        def on_signal(signum: int, _frame: object) -> None:
            # No logging here: the handler may interrupt the main thread inside log(), under its lock.
            if runner.stopping:
                raise SystemExit(128 + signum)
            received.append(signum)
            runner.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        log(f"started (poll every {poll:g} s)" if not once else "one pass (--once)")
        runner.serve(poll, once=once)
        if received:
            name = signal.Signals(received[0]).name
            log(f"stopping ({name}): no new runs; send it again to exit at once")
        _finish(runner, grace, log)
    finally:
        database.close()
    if runner.failures:
        raise SystemExit(1)


def _finish(runner: "Scheduler", grace: float, log: Callable[[str], None]) -> None:
    left = runner.wait_for_runs(grace)
    if left:
        ids = ", ".join(map(str, left))
        log(f"exiting with tournament(s) {ids} unfinished: they resume on the next scheduler start")
    else:
        log("stopped")


def start_background_scheduler(url: str, poll: float) -> "tuple[Scheduler, threading.Thread]":
    """A scheduler on its own database connection, looping in a daemon thread (for `tournament serve`)."""
    from tournament.persistence.database import open_database
    from tournament.services.scheduler import Scheduler

    log = stderr_log()
    runner = Scheduler(open_database(url), log)
    log(f"started with the server (poll every {poll:g} s)")
    thread = threading.Thread(target=runner.serve, args=(poll,), name="scheduler", daemon=True)
    thread.start()
    return runner, thread


def stop_background_scheduler(runner: "Scheduler", thread: threading.Thread, grace: float) -> None:
    """Stop firing, give running tournaments ``grace`` seconds, leave the rest to be resumed."""
    runner.stop()
    thread.join(5)
    _finish(runner, grace, runner.log)
    runner.db.close()
