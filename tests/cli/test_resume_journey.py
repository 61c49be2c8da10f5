"""Crash safety through the real CLI: kill -9 a run (and its resume), resume it, get a byte-identical result.

Also the run lease (a second runner is refused), `cancel` of a live and of an orphaned run, and a worker
process that aborts while playing. Runs go to a SQLite file polled from here to time the kills.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import TOURNAMENT, Cli

FIELD = "beat-last,constant,rotate,rfind,bandit"
ROUNDS = 2000
RUN = ("run", "--rounds", str(ROUNDS), "--seed", "11", "--noise", "0.05", "--repetitions", "2",
       "--strategies", FIELD)  # fmt: skip
LONG_ROUNDS = 100_000
LONG_REPETITIONS = 10
LONG_MATCHES = 10 * LONG_REPETITIONS  # 10 pairs of 5 strategies
LONG_RUN = (*RUN[:2], str(LONG_ROUNDS), *RUN[3:8], str(LONG_REPETITIONS), *RUN[9:])
"""The same field with longer matches, and more of them: still running when the test acts on it (it
would take a minute), however loaded the machine; each match stays short, so a cancelled run ends soon."""
MATCHES = 20
DEADLINE_S = 300.0

pytestmark = pytest.mark.slow


class Background:
    """A `tournament` command running in its own process group, so kill -9 takes its workers too."""

    def __init__(self, cli: Cli, *args: str) -> None:
        env = {**os.environ, "TOURNAMENT_DB": cli.db_url}
        self.process = subprocess.Popen(
            [str(TOURNAMENT), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip

    def kill_group(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.communicate()

    def finish(self) -> tuple[int, str, str]:
        stdout, stderr = self.process.communicate(timeout=DEADLINE_S)
        return self.process.returncode, stdout, stderr

    def workers(self) -> list[int]:
        """Pids of this command's worker processes (forked by its zygote: match-worker, in its group)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                name, _, rest = (entry / "stat").read_text().partition(" (")[2].rpartition(")")
                stat = rest.split()
            except OSError:
                continue
            if int(stat[2]) == self.process.pid and name == "match-worker" and stat[0] not in "ZX":
                found.append(int(entry.name))
        return found


@pytest.fixture
def background(sqlite_cli: Cli) -> Iterator[Callable[..., Background]]:
    started: list[Background] = []

    def start(*args: str) -> Background:
        started.append(Background(sqlite_cli, *args))
        return started[-1]

    yield start
    for run in started:
        if run.process.poll() is None:
            run.kill_group()


def _finished(cli: Cli) -> int:
    path = cli.db_url.removeprefix("sqlite:///")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
            row = db.execute("SELECT count(*) FROM matches WHERE status = 'finished'").fetchone()
    except sqlite3.OperationalError:
        return 0  # not created yet
    return int(row[0])


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The exports of the same tournament run without interruption (in-process, in another database)."""
    cli = Cli(f"sqlite:///{tmp_path_factory.mktemp('reference') / 'reference.db'}")
    cli(*RUN, "--workers", "1")
    return {kind: cli("export", "1", f"--{kind}").stdout for kind in ("rounds", "standings")}


def _assert_complete_and_identical(cli: Cli, reference: dict[str, str]) -> None:
    exported = {kind: cli("export", "1", f"--{kind}").stdout for kind in ("rounds", "standings")}
    assert exported == reference
    keys = [tuple(line.split(",")[:3:2]) for line in exported["rounds"].splitlines()[1:]]  # (match, round)
    assert len(keys) == len(set(keys)) == MATCHES * ROUNDS  # nothing missing, nothing doubled
    check = cli("check")
    assert check.stdout.startswith(f"ok: 1 tournament, 20 matches, {MATCHES * ROUNDS} rounds")
    assert "interrupted" not in check.stdout


@pytest.mark.parametrize("kill_at", [1, MATCHES // 2, "during-resume"])
def test_kill_9_then_resume_gives_the_uninterrupted_result(
    sqlite_cli: Cli, background: Callable[..., Background], reference: dict[str, str], kill_at: int | str
) -> None:
    run = background(*RUN, "--workers", "2")
    first_kill = kill_at if isinstance(kill_at, int) else 2
    _wait_for(lambda: _finished(sqlite_cli) >= first_kill, f"{first_kill} recorded matches")
    run.kill_group()
    done = _finished(sqlite_cli)
    assert first_kill <= done < MATCHES
    interrupted = sqlite_cli("check")
    assert "tournament 1 was interrupted" in interrupted.stdout
    assert "tournament resume 1" in interrupted.stdout

    if kill_at == "during-resume":
        resumed = background("resume", "1", "--workers", "2")
        _wait_for(lambda: _finished(sqlite_cli) >= done + 2, "progress of the resume")
        resumed.kill_group()
        done = _finished(sqlite_cli)
        assert done < MATCHES

    result = sqlite_cli("resume", "1", "--workers", "2")
    assert f"tournament 1: resuming, {done} of {MATCHES} matches already played, 2 workers" in result.stdout
    assert "(rps, seed 11, finished)" in result.stdout
    _assert_complete_and_identical(sqlite_cli, reference)


def test_a_live_run_refuses_a_second_runner_and_stops_when_cancelled(
    sqlite_cli: Cli, background: Callable[..., Background]
) -> None:
    run = background(*LONG_RUN, "--workers", "2")
    _wait_for(lambda: _finished(sqlite_cli) >= 1, "a recorded match")
    busy = sqlite_cli("resume", "1", expect=2)
    host = re.escape(socket.gethostname())
    assert re.fullmatch(
        rf"error: tournament 1 is being run by {host}:{run.process.pid} \(heartbeat \d+ s ago\)\n",
        busy.stderr,
    ), busy.stderr
    cancelled = sqlite_cli("cancel", "1", "--wait")
    assert cancelled.stdout.startswith(f"tournament 1: cancel requested; its runner {host_pid(run)}")
    assert cancelled.stdout.endswith("tournament 1 cancelled\n")
    code, _, stderr = run.finish()
    assert code == 1
    played = _finished(sqlite_cli)
    assert played < LONG_MATCHES
    assert (
        stderr.splitlines()[-1]
        == f"error: tournament 1 was cancelled (cancelled after {played} of {LONG_MATCHES} matches)"
    )
    assert sqlite_cli("resume", "1", expect=2).stderr == (
        "error: tournament 1 was cancelled; a cancelled tournament cannot be resumed\n"
    )
    check = sqlite_cli("check").stdout
    assert check.startswith(f"ok: 1 tournament, {LONG_MATCHES} matches, {played * LONG_ROUNDS} rounds")


def host_pid(run: Background) -> str:
    return f"{socket.gethostname()}:{run.process.pid}"


def test_ctrl_c_marks_the_run_failed_and_says_how_to_finish_it(
    sqlite_cli: Cli, background: Callable[..., Background]
) -> None:
    run = background(*LONG_RUN, "--workers", "2")
    _wait_for(lambda: _finished(sqlite_cli) >= 1, "a recorded match")
    os.killpg(run.process.pid, signal.SIGINT)  # what Ctrl+C sends to the terminal's foreground group
    code, stdout, stderr = run.finish()
    assert code == 130, (stdout, stderr)
    assert stderr.splitlines()[-1] == "error: tournament 1 interrupted; `tournament resume 1` finishes it"
    assert "(rps, seed 11, failed)" in sqlite_cli("standings", "1").stdout
    check = sqlite_cli("check").stdout
    assert check.startswith(f"ok: 1 tournament, {LONG_MATCHES} matches")
    assert "interrupted" not in check  # not a crash: the run released its lease


def test_cancel_an_orphaned_run(sqlite_cli: Cli, background: Callable[..., Background]) -> None:
    run = background(*LONG_RUN, "--workers", "2")
    _wait_for(lambda: _finished(sqlite_cli) >= 1, "a recorded match")
    run.kill_group()
    assert sqlite_cli("cancel", "1").stdout == "tournament 1 cancelled\n"
    assert sqlite_cli("cancel", "1").stdout == "tournament 1 was already cancelled\n"
    assert "(rps, seed 11, cancelled)" in sqlite_cli("standings", "1").stdout
    check = sqlite_cli("check").stdout
    assert check.startswith(f"ok: 1 tournament, {LONG_MATCHES} matches")
    assert "interrupted" not in check


def test_a_worker_that_aborts_twice_fails_only_its_match_and_resume_plays_it(
    sqlite_cli: Cli, background: Callable[..., Background], tmp_path: Path
) -> None:
    args = ("run", "--rounds", "100000", "--seed", "5", "--strategies", "beat-last,rfind")
    run = background(*args, "--workers", "2")
    for attempt in range(2):
        _wait_for(lambda: len(run.workers()) == 1, f"worker of attempt {attempt + 1}")
        (worker,) = run.workers()
        os.kill(worker, signal.SIGABRT)  # starting up or playing: either way its match is lost
        _wait_for(lambda w=worker: w not in run.workers(), "the worker's death")  # type: ignore[misc]
    code, stdout, stderr = run.finish()
    assert code == 1
    assert stderr.splitlines()[-1] == (
        "error: tournament 1 failed: 1 match failed: match 1 (beat-last vs rfind): worker process died twice "
        "while playing this match (signal 6, SIGABRT); `tournament resume 1` plays them"
    )
    assert "(rps, seed 5, failed)" in stdout
    assert (
        sum(s["matches"] for s in sqlite_cli.json("standings", "1")) == 0
    )  # the failed match is not counted
    assert sqlite_cli("check").stdout.startswith("ok: 1 tournament, 1 matches, 0 rounds")

    assert "(rps, seed 5, finished)" in sqlite_cli("resume", "1").stdout
    other = Cli(f"sqlite:///{tmp_path / 'reference.db'}")
    other(*args, "--workers", "1")
    assert sqlite_cli("export", "1", "--rounds").stdout == other("export", "1", "--rounds").stdout
