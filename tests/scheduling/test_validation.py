"""A schedule that could never run is refused when it is added, with a message naming the problem."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tournament.persistence import Database, open_database
from tournament.persistence import strategies as strategy_repo
from tournament.persistence.schedules import DuplicateScheduleError, UnknownScheduleError
from tournament.rules.errors import UnknownGameError
from tournament.services.errors import InvalidRequestError
from tournament.services.schedules import (
    Template,
    add_schedule,
    parse_cron,
    pause_schedule,
    remove_schedule,
)

from .conftest import START

RPS = Template(game="rps", rounds=10)


@pytest.fixture
def sqlite_registry(tmp_path: Path, small_manifest: Path) -> Iterator[Database]:
    db = open_database(f"sqlite:///{tmp_path / 'schedules.db'}", builtins_manifest=small_manifest)
    with db.sessions.begin() as session:
        strategy_repo.add_tags(session, "rotate", ["ladder"])
    try:
        yield db
    finally:
        db.close()


@pytest.mark.parametrize(
    ("name", "cron", "zone", "template", "error", "message"),
    [
        ("x", "0 3 * *", "UTC", RPS, InvalidRequestError,
         "invalid cron expression '0 3 * *': expected 5 fields"),
        ("x", "61 3 * * *", "UTC", RPS, InvalidRequestError,
         "invalid cron expression '61 3 * * *': out of range"),
        ("x", "0 3 * * * *", "UTC", RPS, InvalidRequestError, "expected 5 fields"),
        ("x", "H 3 * * *", "UTC", RPS, InvalidRequestError, "invalid cron expression 'H 3 * * *'"),
        ("x", "0 0 30 2 *", "UTC", RPS, InvalidRequestError, "cron expression '0 0 30 2 *' never fires"),
        ("x", "0 3 * * *", "Mars/Olympus", RPS, InvalidRequestError, "unknown time zone 'Mars/Olympus'"),
        ("x", "0 3 * * *", "../etc/passwd", RPS, InvalidRequestError, "unknown time zone"),
        ("x", "0 3 * * *", "UTC", Template(game="chess", rounds=1), UnknownGameError, "unknown game 'chess'"),
        ("Nightly", "0 3 * * *", "UTC", RPS, InvalidRequestError, "invalid schedule name 'Nightly'"),
        ("x", "0 3 * * *", "UTC", Template(game="rps", rounds=0), InvalidRequestError, "--rounds must be"),
        ("x", "0 3 * * *", "UTC", Template(game="rps", rounds=9, noise=2), InvalidRequestError, "--noise"),
        ("x", "0 3 * * *", "UTC", Template(game="rps", rounds=9, history="some"), InvalidRequestError,
         "--history must be one of none, tournament, all"),
        ("x", "0 3 * * *", "UTC", Template(game="rps", rounds=9, timeout_ms=0), InvalidRequestError,
         "limit timeout_ms must be a positive integer"),
        ("x", "0 3 * * *", "UTC", Template(game="rps", rounds=9, seed=-1), InvalidRequestError, "--seed"),
        ("x", "0 3 * * *", "UTC", Template(game="rps", rounds=9, workers=0), InvalidRequestError,
         "--workers"),
        ("x", "0 3 * * *", "UTC", Template(game="rps", rounds=9, strategies=("rotate", "nobody")),
         LookupError, "unknown strategy 'nobody' (known for rps: constant, rotate)"),
        ("x", "0 3 * * *", "UTC", Template(game="rps", rounds=9, tags=("weekly",)), LookupError,
         "unknown tag 'weekly' (known: ladder)"),
        ("x", "0 3 * * *", "UTC", Template(game="rps", rounds=9, tags=("ladder",), strategies=("rotate",)),
         InvalidRequestError, "not both"),
    ],
)  # fmt: skip
def test_bad_schedules_are_refused_with_a_clear_message(
    sqlite_registry: Database,
    name: str,
    cron: str,
    zone: str,
    template: Template,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error) as raised:
        add_schedule(sqlite_registry, name, cron=cron, timezone=zone, template=template, now=START)
    assert message in str(raised.value.args[0])


def test_names_are_unique_and_unknown_names_are_named(sqlite_registry: Database) -> None:
    add_schedule(sqlite_registry, "nightly", cron="0 3 * * *", timezone="UTC", template=RPS, now=START)
    with pytest.raises(DuplicateScheduleError, match="a schedule named 'nightly' exists already"):
        add_schedule(sqlite_registry, "nightly", cron="0 4 * * *", timezone="UTC", template=RPS, now=START)
    with pytest.raises(UnknownScheduleError, match=r"unknown schedule 'weekly' \(known: nightly\)"):
        pause_schedule(sqlite_registry, "weekly")
    with pytest.raises(UnknownScheduleError):
        remove_schedule(sqlite_registry, "weekly")


def test_cron_text_is_normalized_and_degenerate_ranges_mean_one_value() -> None:
    assert parse_cron("  0   3 * *  mon-fri ") == "0 3 * * mon-fri"
    assert parse_cron("@DAILY") == "@daily"
    assert parse_cron("5-5 1-1/2 * * *") == "5 1 * * *"  # croniter 7 reads 5-5 as '*'
