"""Local workers are forked by a zygote: what they inherit, what they do not, and what survives its death."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from tests.orchestration.conftest import JobFactory
from tests.orchestration.faults import FAULTS_ENV, play_or_abort
from tournament.orchestration.executors.base import WorkerLostError
from tournament.orchestration.executors.local import (
    InProcessExecutor,
    LocalProcessExecutor,
    prestart_zygote,
    worker_cpu_seconds,
    zygote_pid,
)
from tournament.orchestration.match import MatchPlayed
from tournament.sandbox.runtime import SandboxRuntime
from tournament.services.run_lease import process_alive

_FORK_SCRIPT = """
import json, os, sys, anyio
from tournament.orchestration.executors import local

database = open(sys.argv[1], "a")  # stands for the coordinator's SQLite file
local.prestart_zygote()
zygote = local.zygote_pid()

def fds(pid):
    return sorted(os.path.realpath(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd"))

async def main():
    pool = local.LocalProcessExecutor(1)
    worker = await pool._checkout()
    with open(f"/proc/{worker.pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    for _ in range(1000):  # the worker names itself right after the fork
        if open(f"/proc/{worker.pid}/comm").read().strip() == "match-worker":
            break
        await anyio.sleep(0.01)
    report = {
        "forked": local._ZYGOTES.handle.forked,
        "zygote_fds": fds(zygote),
        "worker_parent": int(fields[1]),
        "worker_name": open(f"/proc/{worker.pid}/comm").read().strip(),
        "worker_fds": fds(worker.pid),
        "zygote": zygote,
    }
    await pool.aclose()
    print(json.dumps(report), flush=True)

anyio.run(main)
"""


def test_a_single_threaded_coordinator_forks_its_zygote_which_keeps_none_of_its_files(tmp_path: Path) -> None:
    database = tmp_path / "coordinator.db"
    command = [sys.executable, "-c", _FORK_SCRIPT, str(database)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["forked"] is True  # the script had one thread: no fresh interpreter was needed
    assert str(database) not in report["zygote_fds"]
    assert str(database) not in report["worker_fds"]
    assert report["worker_parent"] == report["zygote"]
    assert report["worker_name"] == "match-worker"


def test_workers_get_the_environment_of_when_they_start_not_of_when_the_zygote_started(
    make_job: JobFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prestart_zygote()
    folder = tmp_path / "faults"
    folder.mkdir()
    (folder / "abort-1").touch()
    monkeypatch.setenv(FAULTS_ENV, str(folder))  # after the zygote started
    pool = LocalProcessExecutor(1, target=play_or_abort)

    async def scenario() -> str:
        try:
            with pytest.raises(WorkerLostError) as lost:
                await pool.play(make_job(1, "rotate", "constant"))
            return str(lost.value)
        finally:
            await pool.aclose()

    assert anyio.run(scenario) == "signal 6, SIGABRT"


def test_a_killed_zygote_is_replaced_and_results_stay_the_same(
    make_job: JobFactory, runtime: SandboxRuntime
) -> None:
    job = make_job(3, "beat-last", "rfind")

    async def play(executor: LocalProcessExecutor | InProcessExecutor) -> MatchPlayed:
        try:
            return await executor.play(job)
        finally:
            await executor.aclose()

    prestart_zygote()
    first = zygote_pid()
    assert first is not None
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while process_alive(first) and time.monotonic() < deadline:
        time.sleep(0.01)
    before = worker_cpu_seconds()
    played = anyio.run(play, LocalProcessExecutor(1))
    assert zygote_pid() not in (None, first)
    assert played == anyio.run(play, InProcessExecutor(runtime))
    assert worker_cpu_seconds() > before  # the zygote reported the worker's CPU time when it exited


def test_a_job_queued_behind_a_match_that_kills_its_worker_is_played_elsewhere_without_an_attempt(
    make_job: JobFactory, runtime: SandboxRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "faults"
    folder.mkdir()
    (folder / "abort-1").touch()
    monkeypatch.setenv(FAULTS_ENV, str(folder))
    pool = LocalProcessExecutor(1, target=play_or_abort)  # one worker: job 2 waits in its pipe behind job 1
    jobs = [make_job(1, "rotate", "constant"), make_job(2, "beat-last", "rfind")]
    outcomes: dict[int, MatchPlayed | str] = {}

    async def play(index: int) -> None:
        try:
            outcomes[index] = await pool.play(jobs[index])
        except WorkerLostError as error:
            outcomes[index] = str(error)

    async def scenario() -> None:
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(play, 0)
                await anyio.sleep(0)  # job 1 is sent first
                group.start_soon(play, 1)
        finally:
            await pool.aclose()

    anyio.run(scenario)
    assert outcomes[0] == "signal 6, SIGABRT"
    assert outcomes[1] == anyio.run(InProcessExecutor(runtime).play, jobs[1])
    assert pool.started == 2
