"""Tournament templates fired on a cron schedule in a time zone: validation, next slots, seeds and claims.

Slot rule (local wall-clock time, read in the schedule's IANA zone): every local date-time that matches the
cron fields fires exactly once, at the first instant the zone's clock reaches it. So a time the clock passes
twice (autumn) fires on its first pass only, and a time the clock skips (spring) fires when the skip ends.
A nightly "30 2 * * *" therefore runs exactly once every night, whatever the zone.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter
from sqlalchemy import exc

from tournament.persistence import schedules as schedule_repo
from tournament.persistence import strategies as strategy_repo
from tournament.persistence.database import Database
from tournament.persistence.schedules import ScheduledRun, ScheduleInfo
from tournament.rules.games import get_game
from tournament.rules.seeds import derive_seed
from tournament.sandbox.limits import SandboxLimits
from tournament.services.errors import InvalidRequestError
from tournament.services.tournaments import (
    HistoryScope,
    TournamentRequest,
    check_executor,
    check_sizes,
    create_tournament,
)

TEMPLATE_FORMAT = 1
"""Version of the stored template JSON, so later fields can be added without guessing."""
SCHEDULE_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SCHEDULE_NAME_MAX = 64
CRON_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
SEED_TAG = "schedule"
"""First part of a slot's seed: ``derive_seed("schedule", NAME, SLOT)``."""

_DEGENERATE_RANGE = re.compile(r"^(\w+)-\1(?:/\d+)?$", re.IGNORECASE)
"""``5-5`` or ``5-5/2``: one value, which croniter 7 misreads as ``*`` (or as every other minute)."""

Log = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Template:
    """What a scheduled tournament plays; participants are chosen when each run starts."""

    game: str
    rounds: int
    repetitions: int = 1
    noise: float = 0.0
    hidden_rounds: bool = False
    history: str = HistoryScope.TOURNAMENT.value
    fuel_per_move: int | None = None
    timeout_ms: int | None = None
    memory_bytes: int | None = None
    allow_wasi: bool = False
    strategies: tuple[str, ...] | None = None
    """A named field; None (and no tags): every active strategy of the game at start time."""
    tags: tuple[str, ...] | None = None
    """Every active strategy of the game carrying any of these tags at start time."""
    seed: int | None = None
    """A fixed seed for every run; None: derived from the slot (each run differs, reproducibly)."""
    workers: int | None = None
    """Worker processes per run (None: one per core)."""
    executor: str | None = None
    """Execution backend spec (e.g. ``dask://host:8786``); None: local worker processes."""

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("strategies", "tags"):
            if data[key] is not None:
                data[key] = list(data[key])
        return {"format": TEMPLATE_FORMAT, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Template:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        for key in ("strategies", "tags"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)

    def limits(self) -> SandboxLimits:
        overrides = {
            key: value
            for key, value in (
                ("fuel_per_move", self.fuel_per_move),
                ("timeout_ms", self.timeout_ms),
                ("memory_bytes", self.memory_bytes),
            )
            if value is not None
        }
        try:
            return dataclasses.replace(SandboxLimits(), **overrides)
        except ValueError as error:
            raise InvalidRequestError(str(error)) from None

    def seed_for(self, schedule: str, slot: datetime) -> int:
        """The fixed seed, or one derived from the schedule's name and the slot (ISO 8601, UTC)."""
        if self.seed is not None:
            return self.seed
        return derive_seed(SEED_TAG, schedule, slot.astimezone(UTC).isoformat())

    def request(self, schedule: ScheduleInfo, slot: datetime) -> TournamentRequest:
        """The tournament this template makes for one slot of ``schedule``."""
        return TournamentRequest(
            game=self.game,
            rounds=self.rounds,
            seed=self.seed_for(schedule.name, slot),
            strategies=self.strategies,
            tags=self.tags,
            repetitions=self.repetitions,
            noise=self.noise,
            hidden_rounds=self.hidden_rounds,
            history=HistoryScope(self.history),
            limits=self.limits(),
            allow_wasi=self.allow_wasi,
            schedule_id=schedule.id,
            scheduled_for=slot,
        )


def check_template(db: Database, template: Template) -> None:
    """Reject a template that could never run: unknown game, strategies or tags, values out of range."""
    game = get_game(template.game)
    check_sizes(template.rounds, template.repetitions, template.noise, template.seed, prefix="--")
    try:
        HistoryScope(template.history)
    except ValueError:
        choices = ", ".join(s.value for s in HistoryScope)
        raise InvalidRequestError(f"--history must be one of {choices}, got {template.history!r}") from None
    template.limits()
    if template.workers is not None and template.workers < 1:
        raise InvalidRequestError(f"--workers must be at least 1, got {template.workers}")
    check_executor(template.executor)
    if template.strategies is not None and template.tags is not None:
        raise InvalidRequestError("choose participants by --strategies or by --tags, not both")
    for label, values in (("--strategies", template.strategies), ("--tags", template.tags)):
        if values is not None and not values:
            raise InvalidRequestError(f"{label} needs at least one name")
        if values is not None and len(set(values)) != len(values):
            raise InvalidRequestError(f"{label} lists a name twice")
    with db.sessions() as session:
        if template.strategies is not None:
            strategy_repo.active_versions(session, game.name, template.strategies)
        if template.tags is not None:
            strategy_repo.active_versions_by_tags(session, game.name, template.tags)


def parse_zone(name: str) -> ZoneInfo:
    """The IANA time zone called ``name``; InvalidRequestError with a hint if there is none."""
    try:
        if name and not name.startswith(("/", ".")) and ".." not in name:
            return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    raise InvalidRequestError(f"unknown time zone {name!r} (use an IANA name such as Europe/Paris or UTC)")


def parse_cron(expression: str) -> str:
    """The expression with its whitespace normalized; InvalidRequestError if croniter refuses it.

    Five fields (minute hour day-of-month month day-of-week) or an alias such as ``@daily``; expressions
    that never fire (``0 0 30 2 *``) are refused too.
    """
    fields = expression.split()
    if len(fields) == 1 and fields[0].lower() in CRON_ALIASES:
        return fields[0].lower()
    if len(fields) != 5:
        raise InvalidRequestError(
            f"invalid cron expression {expression!r}: expected 5 fields (minute hour day-of-month month "
            "day-of-week) or an alias such as @daily"
        )
    normalized = " ".join(
        ",".join(_DEGENERATE_RANGE.sub(r"\1", part) for part in field.split(",")) for field in fields
    )
    try:
        croniter(normalized, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        raise InvalidRequestError(f"cron expression {expression!r} never fires") from None
    except (CroniterError, ValueError, KeyError, TypeError) as error:
        reason = str(error).replace(f"[{normalized}] ", "").removeprefix("is not acceptable, ")
        reason = reason or type(error).__name__
        raise InvalidRequestError(f"invalid cron expression {expression!r}: {reason}") from None
    return normalized


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def first_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant (aware UTC) at which the zone's clock shows ``wall`` or a later time.

    That is ``wall`` itself when it exists (its first occurrence if the clock passes it twice), or the end
    of the forward shift that skips it.
    """
    instants = [
        candidate
        for fold in (0, 1)
        if _wall(candidate := wall.replace(tzinfo=zone, fold=fold).astimezone(UTC), zone) == wall
    ]
    if instants:
        return min(instants)
    low, high = sorted(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))
    while high - low > timedelta(seconds=1):
        middle = low + timedelta(seconds=(high - low).total_seconds() // 2)
        if _wall(middle, zone) >= wall:
            high = middle
        else:
            low = middle
    return high


def next_run(cron: str, zone: ZoneInfo, after: datetime) -> datetime:
    """The first slot (aware UTC) strictly after ``after`` (see the module's slot rule).

    croniter walks local wall-clock times (naive, so without DST surprises); each maps to its first
    instant, which never decreases as the wall time grows, so the first one after ``after`` is the answer.
    Raises InvalidRequestError if the expression never fires again.
    """
    if after.tzinfo is None:
        raise ValueError("next_run needs an aware datetime")
    times = croniter(cron, _wall(after, zone))
    try:
        while True:
            slot = first_instant(times.get_next(datetime), zone)
            if slot > after:
                return slot
    except CroniterBadDateError:
        raise InvalidRequestError(f"cron expression {cron!r} never fires after {after:%Y-%m-%d}") from None


def check_name(name: str) -> None:
    if len(name) > SCHEDULE_NAME_MAX or not SCHEDULE_NAME.match(name):
        raise InvalidRequestError(
            f"invalid schedule name {name!r}: use kebab-case (lowercase letters, digits and single hyphens, "
            f"at most {SCHEDULE_NAME_MAX} characters)"
        )


def add_schedule(
    db: Database, name: str, *, cron: str, timezone: str, template: Template, now: datetime
) -> ScheduleInfo:
    """Validate and store a schedule; its first slot is the first one after ``now``."""
    check_name(name)
    cron = parse_cron(cron)
    zone = parse_zone(timezone)
    check_template(db, template)
    first = next_run(cron, zone, now)
    try:
        with db.sessions.begin() as session:
            return schedule_repo.create_schedule(
                session,
                name=name,
                cron=cron,
                timezone=zone.key,
                template=template.to_dict(),
                next_run_at=first,
            )
    except exc.IntegrityError:
        raise schedule_repo.DuplicateScheduleError(f"a schedule named {name!r} exists already") from None


@dataclass(frozen=True, slots=True)
class ScheduleView:
    """A schedule with its template and latest run, for listings."""

    schedule: ScheduleInfo
    template: Template
    last_run: ScheduledRun | None

    def to_dict(self) -> dict[str, Any]:
        s, zone = self.schedule, ZoneInfo(self.schedule.timezone)

        def stamp(value: datetime | None, local: bool) -> str | None:
            if value is None:
                return None
            return (value.astimezone(zone) if local else value.astimezone(UTC)).isoformat()

        last = self.last_run
        return {
            "name": s.name,
            "cron": s.cron,
            "timezone": s.timezone,
            "paused": s.paused,
            "next_run": stamp(s.next_run_at, True),
            "next_run_utc": stamp(s.next_run_at, False),
            "last_run": stamp(s.last_run_at, True),
            "last_run_utc": stamp(s.last_run_at, False),
            "last_tournament": None if last is None else last.tournament_id,
            "last_status": None if last is None else last.status,
            "template": self.template.to_dict(),
        }


def list_schedules(db: Database) -> list[ScheduleView]:
    with db.sessions() as session:
        schedules = schedule_repo.list_schedules(session)
        runs = schedule_repo.latest_runs(session, [s.id for s in schedules])
    return [ScheduleView(s, Template.from_dict(s.template), runs.get(s.id)) for s in schedules]


def get_schedule(db: Database, name: str) -> ScheduleInfo:
    with db.sessions() as session:
        return schedule_repo.get_schedule(session, name)


def pause_schedule(db: Database, name: str) -> ScheduleInfo:
    """Stop firing (the next slot is kept for display; resuming recomputes it)."""
    with db.sessions.begin() as session:
        return schedule_repo.set_paused(session, name, True, None)


def resume_schedule(db: Database, name: str, now: datetime) -> ScheduleInfo:
    """Fire again from the first slot after ``now``: slots missed while paused are not run."""
    schedule = get_schedule(db, name)
    upcoming = next_run(schedule.cron, ZoneInfo(schedule.timezone), now)
    with db.sessions.begin() as session:
        return schedule_repo.set_paused(session, name, False, upcoming)


def remove_schedule(db: Database, name: str) -> None:
    """Delete a schedule; the tournaments it started are kept."""
    with db.sessions.begin() as session:
        schedule_repo.delete_schedule(session, name)


def start_now(db: Database, name: str, now: datetime) -> int:
    """Create a tournament from the schedule's template for the slot ``now``; returns its id."""
    schedule = get_schedule(db, name)
    tournament_id = create_tournament(db, Template.from_dict(schedule.template).request(schedule, now))
    with db.sessions.begin() as session:
        schedule_repo.note_run(session, schedule.id, now)
    return tournament_id


@dataclass(frozen=True, slots=True)
class Fired:
    """One due slot this process claimed, and the tournament it created (None if it was skipped)."""

    schedule: ScheduleInfo
    slot: datetime
    tournament_id: int | None
    template: Template


def fire_due(db: Database, now: datetime, log: Log) -> list[Fired]:
    """Claim every due slot (one compare-and-set each) and create its tournament; missed slots coalesce.

    A schedule's next run moves to its first slot after ``now``, so a scheduler that was down for several
    slots runs one tournament (for the earliest missed slot, the one that was due), not one per slot.
    """
    with db.sessions() as session:
        due = schedule_repo.due_schedules(session, now)
    fired: list[Fired] = []
    for schedule in due:
        slot = schedule.next_run_at
        assert slot is not None
        try:
            template = Template.from_dict(schedule.template)
            zone = ZoneInfo(schedule.timezone)
            upcoming = next_run(schedule.cron, zone, now)
        except (InvalidRequestError, ValueError, TypeError, LookupError) as error:
            log(f"skipped {schedule.name} slot {_utc(slot)}: {error.args[0] if error.args else error}")
            continue
        with db.sessions.begin() as session:
            won = schedule_repo.claim_slot(session, schedule.id, slot, upcoming)
        if not won:
            continue
        missed = " (later missed slots coalesced)" if next_run(schedule.cron, zone, slot) <= now else ""
        try:
            tournament_id = create_tournament(db, template.request(schedule, slot))
        except exc.IntegrityError:
            log(f"skipped {schedule.name} slot {_utc(slot)}: a tournament exists for it already")
            fired.append(Fired(schedule, slot, None, template))
            continue
        except (InvalidRequestError, LookupError, ValueError) as error:
            log(f"skipped {schedule.name} slot {_utc(slot)}: {error.args[0] if error.args else error}")
            fired.append(Fired(schedule, slot, None, template))
            continue
        log(f"fired {schedule.name} slot {_utc(slot)}: tournament {tournament_id}{missed}")
        fired.append(Fired(schedule, slot, tournament_id, template))
    return fired


def recover_claimed(db: Database, now: datetime, log: Log) -> list[Fired]:
    """Create the runs of slots that were claimed but never got a tournament (run when a scheduler starts).

    The claim commits before the tournament is created, so a scheduler that dies in between leaves its
    slot without a run; the next scheduler to start creates it, unless a later slot is already due (that
    one fires instead, as for any missed slots). The unique (schedule, slot) constraint keeps two
    recovering schedulers from creating it twice.
    """
    with db.sessions() as session:
        orphans = schedule_repo.claimed_without_tournament(session, now)
    recovered: list[Fired] = []
    for schedule in orphans:
        slot = schedule.last_run_at
        assert slot is not None
        template = Template.from_dict(schedule.template)
        try:
            tournament_id = create_tournament(db, template.request(schedule, slot))
        except exc.IntegrityError:
            continue
        except (InvalidRequestError, LookupError, ValueError) as error:
            log(f"skipped {schedule.name} slot {_utc(slot)}: {error.args[0] if error.args else error}")
            continue
        log(f"fired {schedule.name} slot {_utc(slot)}: tournament {tournament_id} (claimed, never created)")
        recovered.append(Fired(schedule, slot, tournament_id, template))
    return recovered


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


__all__ = [
    "Fired",
    "ScheduleView",
    "Template",
    "add_schedule",
    "check_template",
    "fire_due",
    "first_instant",
    "get_schedule",
    "list_schedules",
    "next_run",
    "parse_cron",
    "parse_zone",
    "pause_schedule",
    "recover_claimed",
    "remove_schedule",
    "resume_schedule",
    "start_now",
]
