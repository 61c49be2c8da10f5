"""The organizer's scheduling journey through the real `tournament` command, and `serve` firing schedules."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.api.conftest import start_server
from tests.cli.conftest import TOURNAMENT, Cli, sqlite_cli
from tests.registry.conftest import Components
from tournament.persistence import open_database
from tournament.persistence.models import Schedule
from tournament.services.runs import resumable_tournaments
from tournament.services.tournaments import get_tournament

from .conftest import scheduled

__all__ = ["sqlite_cli"]

PAST = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)


def _make_due(url: str, name: str) -> None:
    """As if the scheduler had been down since PAST: the schedule's slot is overdue."""
    with open_database(url, migrate=False) as db, db.sessions.begin() as session:
        session.execute(update(Schedule).where(Schedule.name == name).values(next_run_at=PAST))


@contextlib.contextmanager
def _killed_after(process: subprocess.Popen[str], seconds: float) -> Iterator[None]:
    """Kill a hung process, so that a failure shows up as a failed test rather than a stuck suite."""
    timer = threading.Timer(seconds, process.kill)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _error_line(cli: Cli, *args: str) -> str:
    result = cli(*args, expect=2)
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    return result.stderr.strip()


@pytest.mark.slow
def test_schedule_journey(sqlite_cli: Cli) -> None:
    cli = sqlite_cli
    assert cli("strategy", "tag", "rotate", "ladder").stdout.strip() == "rotate: ladder"
    assert "constant: ladder, weekly" in cli("strategy", "tag", "constant", "ladder", "weekly").stdout
    added = cli(
        "schedule", "add", "nightly", "--cron", "0 3 * * *", "--timezone", "Europe/Paris", "--rounds", "20",
        "--tags", "ladder", "--workers", "1",
    )  # fmt: skip
    assert added.stdout.startswith("added schedule nightly: 0 3 * * * (Europe/Paris), next run ")
    assert ":00 CET (" in added.stdout or ":00 CEST (" in added.stdout

    assert "a schedule named 'nightly' exists already" in _error_line(
        cli, "schedule", "add", "nightly", "--cron", "0 4 * * *"
    )
    assert "invalid cron expression '0 3 * *'" in _error_line(
        cli, "schedule", "add", "x", "--cron", "0 3 * *", "--tags", "monthly"
    )  # the cron is checked before the field
    assert "unknown tag 'monthly'" in _error_line(
        cli, "schedule", "add", "x", "--cron", "@daily", "--tags", "monthly"
    )
    assert "unknown schedule 'weekly'" in _error_line(cli, "schedule", "run-now", "weekly")

    _make_due(cli.db_url, "nightly")
    fired = cli("scheduler", "--once")
    assert "scheduler: fired nightly slot 2026-01-01 03:00:00Z: tournament 1" in fired.stderr
    assert "scheduler: finished tournament 1: finished" in fired.stderr
    [listed] = cli.json("schedule", "list")
    assert (listed["last_tournament"], listed["last_status"], listed["paused"]) == (1, "finished", False)
    assert datetime.fromisoformat(listed["next_run_utc"]) > datetime.now(UTC)
    assert listed["next_run"].endswith(("+01:00", "+02:00"))
    assert "#1 finished" in cli("schedule", "list").stdout

    ran = cli("schedule", "run-now", "nightly")
    assert ran.stdout.startswith("tournament 2: rps, 2 strategies, 1 matches x 20 rounds")
    assert "Tournament 2 (rps" in ran.stdout
    assert cli.json("schedule", "list")[0]["last_tournament"] == 2

    assert cli("schedule", "pause", "nightly").stdout.strip() == "paused schedule nightly"
    _make_due(cli.db_url, "nightly")
    assert "fired" not in cli("scheduler", "--once").stderr
    assert "resumed schedule nightly, next run" in cli("schedule", "resume", "nightly").stdout
    [listed] = cli.json("schedule", "list")
    assert listed["paused"] is False
    assert datetime.fromisoformat(listed["next_run_utc"]) > datetime.now(UTC)  # the missed slot is not run

    assert "removed schedule nightly" in cli("schedule", "remove", "nightly").stdout
    with open_database(cli.db_url, migrate=False) as db:
        assert [(t, s, status) for t, s, _, status in scheduled(db)] == [
            (1, None, "finished"),
            (2, None, "finished"),
        ]


@pytest.mark.slow
def test_serve_fires_due_schedules(tmp_path: Path, small_manifest: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    with open_database(url, builtins_manifest=small_manifest) as db:
        from tournament.services.schedules import Template, add_schedule

        template = Template(game="rps", rounds=10, strategies=("constant", "rotate"), workers=1)
        add_schedule(db, "nightly", cron="0 3 * * *", timezone="UTC", template=template, now=PAST)
    _make_due(url, "nightly")
    log = tmp_path / "server.log"
    with contextlib.contextmanager(start_server)(url, log), open_database(url, migrate=False) as db:
        deadline = time.monotonic() + 60
        while [status for *_, status in scheduled(db)] != ["finished"] and time.monotonic() < deadline:
            time.sleep(0.2)
        [(_, _, slot, status)] = scheduled(db)
    assert (slot, status) == (PAST, "finished")
    assert "scheduler: fired nightly slot 2026-01-01 03:00:00Z: tournament 1" in log.read_text()


def test_the_scheduler_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "TOURNAMENT_DB": f"sqlite:///{tmp_path / 'idle.db'}"}
    with (
        subprocess.Popen(
            [str(TOURNAMENT), "scheduler", "--poll", "0.2"], stderr=subprocess.PIPE, text=True, env=env
        ) as process,
        _killed_after(process, 60),
    ):
        assert process.stderr is not None
        first = process.stderr.readline()
        assert "scheduler: started (poll every 0.2 s)" in first
        process.send_signal(signal.SIGTERM)
        rest = process.stderr.read()
        assert process.wait(30) == 0
    assert "stopping (SIGTERM): no new runs" in rest
    assert rest.rstrip().endswith("scheduler: stopped")


def test_submit_can_tag_the_strategy(sqlite_cli: Cli, components: Components, tmp_path: Path) -> None:
    component = tmp_path / "paper.wasm"
    component.write_bytes(components["paper"])
    bad = sqlite_cli(
        "strategy", "submit", str(component), "--name", "paper-bot", "--tags", "Ladder", expect=2
    )
    assert bad.stderr.startswith("error: invalid tag 'Ladder'")
    sqlite_cli("strategy", "submit", str(component), "--name", "paper-bot", "--tags", "ladder,weekly")
    listed = json.loads(sqlite_cli("strategy", "tag", "--json").stdout)
    assert listed == {"ladder": ["paper-bot"], "weekly": ["paper-bot"]}


@pytest.mark.slow
def test_sigterm_during_a_run_leaves_it_to_be_resumed(sqlite_cli: Cli) -> None:
    sqlite_cli(
        "schedule", "add", "marathon", "--cron", "@daily", "--rounds", "1000000", "--workers", "1",
        "--strategies", "constant,rotate,beat-last,uniform-random",
    )  # fmt: skip
    _make_due(sqlite_cli.db_url, "marathon")
    env = {**os.environ, "TOURNAMENT_DB": sqlite_cli.db_url}
    command = [str(TOURNAMENT), "scheduler", "--poll", "60", "--grace", "0"]
    with (
        subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env) as process,
        _killed_after(process, 120),
    ):
        assert process.stderr is not None
        for line in process.stderr:
            if "scheduler: fired marathon" in line:
                break
        with open_database(sqlite_cli.db_url, migrate=False) as db:
            while get_tournament(db, 1).status != "running":  # its thread holds the run lease
                time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        rest = process.stderr.read()
        assert process.wait(60) == 0, rest
    assert "exiting with tournament(s) 1 unfinished: they resume on the next scheduler start" in rest
    with open_database(sqlite_cli.db_url, migrate=False) as db:
        assert resumable_tournaments(db) == [1]
        assert get_tournament(db, 1).status in ("pending", "running")
