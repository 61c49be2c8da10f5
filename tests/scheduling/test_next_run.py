"""Next-slot computation against croniter itself and a brute-force oracle that steps minute by minute.

The oracle is the slot rule written out literally: walking UTC minutes, a minute fires if the zone's clock
reaches, for the first time, a local time that matches the cron fields (several skipped ones at the end of a
spring gap fire once; times passed a second time in autumn do not fire again). Random cron expressions are
built from field sets, so the oracle matches fields without parsing cron.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

from croniter import croniter
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tournament.services.schedules import first_instant, next_run, parse_cron

MINUTE = timedelta(minutes=1)
ZERO = timedelta(0)
LOOKBACK = timedelta(hours=4)
"""Longer than any backward clock shift since 2000, so the oracle knows which local times were seen."""
HORIZON = timedelta(days=2)
DST_ZONES = (
    "Europe/Paris", "America/New_York", "America/Santiago", "Australia/Lord_Howe", "Australia/Sydney",
    "Pacific/Chatham", "America/Havana", "Asia/Tehran", "Europe/Dublin", "Africa/Casablanca",
    "America/St_Johns", "Antarctica/Troll", "Europe/Moscow", "Asia/Magadan", "Pacific/Apia",
)  # fmt: skip
ALL_ZONES = sorted(available_timezones() - {"Factory", "localtime"})


@dataclass(frozen=True)
class Cron:
    """A cron expression and the values each field allows (day fields None when '*')."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None
    months: frozenset[int] | None
    weekdays: frozenset[int] | None
    """0 = Sunday, as in cron."""

    def matches(self, wall: datetime) -> bool:
        if wall.minute not in self.minutes or wall.hour not in self.hours:
            return False
        if self.months is not None and wall.month not in self.months:
            return False
        day_ok = self.days is None or wall.day in self.days
        weekday_ok = self.weekdays is None or (wall.isoweekday() % 7) in self.weekdays
        if self.days is not None and self.weekdays is not None:
            return day_ok or weekday_ok  # cron: both restricted means either
        return day_ok and weekday_ok


@st.composite
def field(draw: st.DrawFn, low: int, high: int, star_weight: int) -> tuple[str, frozenset[int]]:
    """One field as text and as the set of values it allows (a proper subset unless it is '*')."""
    everything = frozenset(range(low, high + 1))
    kind = draw(st.sampled_from(["*"] * star_weight + ["step", "list", "range", "range-step"]))
    if kind == "*":
        return "*", everything
    if kind == "step":
        step = draw(st.integers(2, max(2, (high - low) // 2)))
        return f"*/{step}", frozenset(range(low, high + 1, step))
    if kind == "list":
        values = draw(st.sets(st.integers(low, high), min_size=1, max_size=4))
        return ",".join(map(str, sorted(values))), frozenset(values)
    start = draw(st.integers(low, high - 1))
    end = draw(st.integers(start, min(high, start + (high - low) // 2)))
    step = 1 if kind == "range" else draw(st.integers(2, 5))
    return (f"{start}-{end}" if step == 1 else f"{start}-{end}/{step}"), frozenset(
        range(start, end + 1, step)
    )


@st.composite
def crons(draw: st.DrawFn) -> Cron:
    minute, minutes = draw(field(0, 59, 1))
    hour, hours = draw(field(0, 23, 2))
    day, days = draw(field(1, 31, 6))
    month, months = draw(field(1, 12, 8))
    weekday, weekdays = draw(field(0, 6, 4))
    return Cron(
        f"{minute} {hour} {day} {month} {weekday}",
        minutes, hours,
        None if day == "*" else days, None if month == "*" else months, None if weekday == "*" else weekdays,
    )  # fmt: skip


@functools.cache
def transitions(zone_name: str, year: int) -> tuple[datetime, ...]:
    """The instants (UTC, to the minute) at which the zone's UTC offset changes during ``year``."""
    zone = ZoneInfo(zone_name)
    found: list[datetime] = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    while day.year == year:
        later = day + timedelta(days=1)
        if day.astimezone(zone).utcoffset() != later.astimezone(zone).utcoffset():
            low, high = day, later
            while high - low > MINUTE:
                middle = low + (high - low) / 2
                middle = middle.replace(second=0, microsecond=0)
                if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high)
        day = later
    return tuple(found)


@st.composite
def moments(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    """A zone and an instant, often within a day and a half of one of the zone's clock shifts."""
    name = draw(st.one_of(st.sampled_from(DST_ZONES), st.sampled_from(ALL_ZONES)))
    year = draw(st.integers(2000, 2037))
    shifts = transitions(name, year)
    near_shift = draw(st.booleans())
    if shifts and near_shift:
        base = draw(st.sampled_from(shifts))
        instant = base + timedelta(seconds=draw(st.integers(-36 * 3600, 36 * 3600)))
    else:
        instant = datetime(year, 1, 1, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 365 * 86400)))
    return ZoneInfo(name), instant


def wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def oracle(cron: Cron, zone: ZoneInfo, after: datetime) -> datetime | None:
    """The first minute after ``after`` that fires, stepping minute by minute; None beyond the horizon."""
    minute = after.replace(second=0, microsecond=0) - LOOKBACK
    seen = wall(minute, zone)  # the latest local time the clock has shown so far
    while minute <= after + HORIZON:
        minute += MINUTE
        shown = wall(minute, zone)
        reached = []
        candidate = seen + MINUTE
        while candidate <= shown:  # usually just `shown`; all skipped times at the end of a gap
            reached.append(candidate)
            candidate += MINUTE
        seen = max(seen, shown)
        if minute > after and any(cron.matches(local) for local in reached):
            return minute
    return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crons(), moments())
@example(
    Cron("30 2 * * *", frozenset({30}), frozenset({2}), None, None, None),
    (ZoneInfo("Europe/Paris"), datetime(2026, 3, 28, 12, tzinfo=UTC)),
)
@example(
    Cron("30 1 * * *", frozenset({30}), frozenset({1}), None, None, None),
    (ZoneInfo("America/New_York"), datetime(2026, 11, 1, 5, 40, tzinfo=UTC)),
)
def test_next_run_is_the_first_firing_minute_of_the_brute_force_oracle(
    cron: Cron, moment: tuple[ZoneInfo, datetime]
) -> None:
    zone, after = moment
    slot = next_run(parse_cron(cron.text), zone, after)
    assert slot > after
    expected = oracle(cron, zone, after)
    if expected is None:
        assert slot > after + HORIZON
    else:
        assert slot == expected, (cron.text, zone, after)


@settings(max_examples=300, deadline=None)
@given(crons(), moments())
def test_next_run_agrees_with_croniter_except_for_repeated_times(
    cron: Cron, moment: tuple[ZoneInfo, datetime]
) -> None:
    """tz-aware croniter agrees, except where croniter 7 deviates from its own rule near clock shifts.

    It fires a time again when the clock repeats it (autumn), and across a spring gap it sometimes misses the
    times the gap skips ("1 * * * *" from 01:58:59 before a 02:00 -> 03:00 shift gives 03:01, where from
    01:59:00 it gives 03:00, as we do).
    """
    zone, after = moment
    local = after.astimezone(zone)
    ours = next_run(parse_cron(cron.text), zone, after)
    theirs = croniter(parse_cron(cron.text), local).get_next(datetime).astimezone(UTC)
    gap_between = (theirs.astimezone(zone).utcoffset() or ZERO) > (local.utcoffset() or ZERO)
    if local.fold == 1 or repeated(theirs.astimezone(zone)):
        assert ours >= theirs
    elif gap_between:
        assert ours <= theirs
    else:
        assert ours == theirs, (cron.text, after)


def repeated(local: datetime) -> bool:
    """Whether this is the second time the zone's clock shows this local time."""
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


@given(crons(), st.datetimes(datetime(2000, 1, 1), datetime(2037, 12, 31)))
@settings(max_examples=200, deadline=None)
def test_in_utc_it_is_croniter(cron: Cron, naive: datetime) -> None:
    after = naive.replace(tzinfo=UTC)
    theirs = croniter(parse_cron(cron.text), after).get_next(datetime)
    assert next_run(parse_cron(cron.text), ZoneInfo("UTC"), after) == theirs


def test_a_skipped_time_fires_when_the_gap_ends_and_a_repeated_one_once() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert first_instant(datetime(2026, 3, 29, 2, 30), paris) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert first_instant(datetime(2026, 10, 25, 2, 30), paris) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    nightly = [datetime(2026, 10, 24, 12, tzinfo=UTC)]
    for _ in range(3):
        nightly.append(next_run("30 2 * * *", paris, nightly[-1]))
    assert [wall(slot, paris) for slot in nightly[1:]] == [
        datetime(2026, 10, 25, 2, 30), datetime(2026, 10, 26, 2, 30), datetime(2026, 10, 27, 2, 30)
    ]  # fmt: skip
