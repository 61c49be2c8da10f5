"""Schedules (tournament templates fired by cron) and the compare-and-set that claims a slot.

Functions take a Session and flush but never commit: the caller's ``sessions.begin()`` block is the
transaction. The template is an opaque JSON object here; the service layer gives it meaning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from tournament.persistence.models import Schedule, Tournament


class UnknownScheduleError(LookupError):
    """No schedule with the requested name."""


class DuplicateScheduleError(ValueError):
    """A schedule with this name exists already."""


@dataclass(frozen=True, slots=True)
class ScheduleInfo:
    """A stored schedule; timestamps are aware UTC."""

    id: int
    name: str
    cron: str
    timezone: str
    template: dict[str, Any]
    paused: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ScheduledRun:
    """A tournament started by a schedule: its id, slot and status."""

    tournament_id: int
    scheduled_for: datetime | None
    status: str
    error: str | None


def _info(row: Schedule) -> ScheduleInfo:
    return ScheduleInfo(
        id=row.id,
        name=row.name,
        cron=row.cron,
        timezone=row.timezone,
        template=dict(row.template),
        paused=row.paused,
        next_run_at=row.next_run_at,
        last_run_at=row.last_run_at,
        created_at=row.created_at,
    )


def create_schedule(
    session: Session,
    *,
    name: str,
    cron: str,
    timezone: str,
    template: dict[str, Any],
    next_run_at: datetime | None,
) -> ScheduleInfo:
    """Store a new schedule; DuplicateScheduleError if the name is taken."""
    if session.scalar(select(Schedule.id).where(Schedule.name == name)) is not None:
        raise DuplicateScheduleError(f"a schedule named {name!r} exists already")
    row = Schedule(
        name=name,
        cron=cron,
        timezone=timezone,
        template=dict(template),
        paused=False,
        next_run_at=next_run_at,
    )
    session.add(row)
    session.flush()
    return _info(row)


def _row(session: Session, name: str) -> Schedule:
    row = session.scalars(select(Schedule).where(Schedule.name == name)).one_or_none()
    if row is None:
        known = list(session.scalars(select(Schedule.name).order_by(Schedule.name)))
        hint = f"known: {', '.join(known)}" if known else "no schedules yet"
        raise UnknownScheduleError(f"unknown schedule {name!r} ({hint})")
    return row


def get_schedule(session: Session, name: str) -> ScheduleInfo:
    """The schedule called ``name``; UnknownScheduleError (naming the known ones) if there is none."""
    row = _row(session, name)
    session.refresh(row)
    return _info(row)


def list_schedules(session: Session) -> list[ScheduleInfo]:
    """Every schedule, by name."""
    return [_info(row) for row in session.scalars(select(Schedule).order_by(Schedule.name))]


def due_schedules(session: Session, now: datetime) -> list[ScheduleInfo]:
    """Schedules that are not paused and whose next slot is at or before ``now``, earliest slot first."""
    query = (
        select(Schedule)
        .where(Schedule.paused.is_(False), Schedule.next_run_at.is_not(None), Schedule.next_run_at <= now)
        .order_by(Schedule.next_run_at, Schedule.id)
    )
    return [_info(row) for row in session.scalars(query)]


def claim_slot(session: Session, schedule_id: int, slot: datetime, next_run_at: datetime | None) -> bool:
    """Claim ``slot`` of a schedule: move its next run on, but only if nobody did since it was read.

    One UPDATE with the expected slot in its WHERE clause (a compare-and-set): of several schedulers that
    saw the same due slot, exactly one updates a row and wins; the others get False. Run it as the first
    statement of its transaction, so that on SQLite it waits for the write lock instead of failing on a
    stale read snapshot.
    """
    result = session.execute(
        update(Schedule)
        .where(Schedule.id == schedule_id, Schedule.next_run_at == slot, Schedule.paused.is_(False))
        .values(next_run_at=next_run_at, last_run_at=slot)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def set_paused(session: Session, name: str, paused: bool, next_run_at: datetime | None) -> ScheduleInfo:
    """Pause or resume a schedule, storing its next slot (None while paused leaves it as it was)."""
    row = _row(session, name)
    row.paused = paused
    if next_run_at is not None:
        row.next_run_at = next_run_at
    session.flush()
    return _info(row)


def note_run(session: Session, schedule_id: int, slot: datetime) -> None:
    """Record that a run for ``slot`` started (a run-now), keeping the latest slot as the last run."""
    row = session.get(Schedule, schedule_id)
    if row is not None and (row.last_run_at is None or row.last_run_at < slot):
        row.last_run_at = slot
        session.flush()


def delete_schedule(session: Session, name: str) -> None:
    """Remove a schedule; its past tournaments stay, no longer linked to it (ON DELETE SET NULL)."""
    row = _row(session, name)
    session.execute(
        update(Tournament)
        .where(Tournament.schedule_id == row.id)
        .values(schedule_id=None)
        .execution_options(synchronize_session=False)
    )
    session.delete(row)
    session.flush()


def latest_runs(session: Session, schedule_ids: Sequence[int]) -> dict[int, ScheduledRun]:
    """Per schedule id, its most recently created tournament (schedules without one are left out)."""
    if not schedule_ids:
        return {}
    newest = (
        select(func.max(Tournament.id))
        .where(Tournament.schedule_id.in_(list(schedule_ids)))
        .group_by(Tournament.schedule_id)
    )
    rows = session.execute(
        select(
            Tournament.schedule_id,
            Tournament.id,
            Tournament.scheduled_for,
            Tournament.status,
            Tournament.error,
        ).where(Tournament.id.in_(newest))
    )
    return {
        schedule_id: ScheduledRun(tournament_id, scheduled_for, status, error)
        for schedule_id, tournament_id, scheduled_for, status, error in rows
        if schedule_id is not None
    }


def schedule_runs(session: Session, schedule_id: int) -> list[ScheduledRun]:
    """Every tournament of one schedule, oldest first."""
    rows = session.execute(
        select(Tournament.id, Tournament.scheduled_for, Tournament.status, Tournament.error)
        .where(Tournament.schedule_id == schedule_id)
        .order_by(Tournament.id)
    )
    return [ScheduledRun(*row) for row in rows]


def schedule_of_tournament(session: Session, tournament_id: int) -> ScheduleInfo | None:
    """The schedule that started a tournament (None: started by hand, or its schedule was removed)."""
    row = session.scalars(
        select(Schedule)
        .join(Tournament, Tournament.schedule_id == Schedule.id)
        .where(Tournament.id == tournament_id)
    ).one_or_none()
    return None if row is None else _info(row)


def claimed_without_tournament(session: Session, now: datetime) -> list[ScheduleInfo]:
    """Schedules whose latest claimed slot has no tournament, while no later slot is due yet.

    That is what a scheduler leaves behind when it dies between claiming a slot and creating its run (or
    when the run was refused at creation).
    """
    has_run = (
        select(Tournament.id)
        .where(Tournament.schedule_id == Schedule.id, Tournament.scheduled_for == Schedule.last_run_at)
        .exists()
    )
    query = (
        select(Schedule)
        .where(
            Schedule.paused.is_(False),
            Schedule.last_run_at.is_not(None),
            Schedule.next_run_at > now,
            ~has_run,
        )
        .order_by(Schedule.id)
    )
    return [_info(row) for row in session.scalars(query)]
