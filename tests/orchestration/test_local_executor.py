"""Local execution: worker processes give the in-process results, and a dying worker fails only its match."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import anyio
import pytest

from tests.orchestration.conftest import JobFactory
from tests.orchestration.faults import FAULTS_ENV, play_or_abort, threads_then_play
from tournament.orchestration import jobs as jobs_module
from tournament.orchestration.executors import (
    UnknownExecutorError,
    check_executor_spec,
    open_executor,
)
from tournament.orchestration.executors.base import WorkerLostError
from tournament.orchestration.executors.local import InProcessExecutor, LocalProcessExecutor
from tournament.orchestration.executors.process_worker import IDLE_AFTER_S
from tournament.orchestration.jobs import MatchJob
from tournament.orchestration.match import MatchPlayed
from tournament.orchestration.runner import run_chains
from tournament.sandbox.runtime import SandboxRuntime

PAIRS = [("beat-last", "rotate"), ("rfind", "constant"), ("bandit", "beat-last"), ("rotate", "rfind")]


async def _play_all(
    executor: InProcessExecutor | LocalProcessExecutor, jobs: list[MatchJob]
) -> list[MatchPlayed]:
    results: dict[int, MatchPlayed] = {}

    async def one(job: MatchJob) -> None:
        results[job.match_id] = await executor.play(job)

    try:
        async with anyio.create_task_group() as group:
            for job in jobs:
                group.start_soon(one, job)
    finally:
        await executor.aclose()
    return [results[job.match_id] for job in jobs]


def test_worker_processes_play_exactly_what_the_coordinator_plays(
    make_job: JobFactory, runtime: SandboxRuntime
) -> None:
    jobs = [make_job(index, a, b) for index, (a, b) in enumerate(PAIRS)]
    pool = LocalProcessExecutor(2)
    in_workers = anyio.run(_play_all, pool, jobs)
    in_process = anyio.run(_play_all, InProcessExecutor(runtime), jobs)
    assert in_workers == in_process
    assert pool.started == 2
    assert pool.pids() == []


def _faults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *markers: str) -> None:
    folder = tmp_path / "faults"
    folder.mkdir()
    for marker in markers:
        (folder / marker).touch()
    monkeypatch.setenv(FAULTS_ENV, str(folder))


def test_a_dead_worker_raises_worker_lost_with_its_signal_and_is_replaced(
    make_job: JobFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _faults(tmp_path, monkeypatch, "abort-1")
    pool = LocalProcessExecutor(1, target=play_or_abort)

    async def scenario() -> tuple[str, MatchPlayed]:
        try:
            with pytest.raises(WorkerLostError) as lost:
                await pool.play(make_job(1, "rotate", "constant"))
            return str(lost.value), await pool.play(make_job(2, "rotate", "constant"))
        finally:
            await pool.aclose()

    message, played = anyio.run(scenario)
    assert message == "signal 6, SIGABRT"
    assert played.score.rounds == 300
    assert pool.started == 2


def test_an_aborting_match_fails_alone_and_its_chain_waits_while_the_others_finish(
    make_job: JobFactory, runtime: SandboxRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chain 1 aborts on every attempt, chain 2's match on its first attempt only.
    _faults(tmp_path, monkeypatch, "abort-11", "abort-once-21")
    chains = [
        [
            make_job(11, "rfind", "constant"),
            make_job(12, "rfind", "constant"),
            make_job(13, "rfind", "constant"),
        ],
        [make_job(21, "beat-last", "rotate"), make_job(22, "beat-last", "rotate")],
        [make_job(31, "bandit", "rotate")],
    ]
    done: dict[int, MatchPlayed] = {}
    failed: dict[int, str] = {}
    pool = LocalProcessExecutor(2, target=play_or_abort)

    async def run() -> None:
        try:
            await run_chains(
                chains,
                executor=pool,
                build_job=lambda job: job,
                on_done=lambda job, played: done.__setitem__(job.match_id, played),
                on_failed=lambda job, error: failed.__setitem__(job.match_id, error),
            )
        finally:
            await pool.aclose()

    anyio.run(run)
    assert failed == {11: "worker process died twice while playing this match (signal 6, SIGABRT)"}
    assert sorted(done) == [21, 22, 31]  # 12 and 13 would see a history without 11: they wait
    reference = anyio.run(_play_all, InProcessExecutor(runtime), [chains[1][0], chains[1][1], chains[2][0]])
    assert [done[21], done[22], done[31]] == reference
    assert pool.started >= 4  # two initial workers, plus one for each of the three deaths after the first


def test_a_chains_next_match_starts_once_the_previous_one_is_recorded(
    make_job: JobFactory, runtime: SandboxRuntime
) -> None:
    """Worker processes, and recording left to the caller (a queue that commits later, as the coordinator's
    recorder does when workers cannot open the database): a chain's next job is built only once the
    previous match is recorded; other chains keep the workers busy meanwhile."""
    chains = [[make_job(10 * chain + index, *PAIRS[chain]) for index in range(3)] for chain in range(3)]
    events: list[tuple[str, int]] = []
    done: dict[int, MatchPlayed] = {}
    pool = LocalProcessExecutor(2)

    async def run() -> None:
        async with anyio.create_task_group() as recorder:

            async def record(job: MatchJob, played: MatchPlayed) -> anyio.Event:
                recorded = anyio.Event()

                async def commit() -> None:
                    await anyio.sleep(0.05)
                    events.append(("recorded", job.match_id))
                    done[job.match_id] = played
                    recorded.set()

                recorder.start_soon(commit)
                return recorded

            def build(job: MatchJob) -> MatchJob:
                events.append(("built", job.match_id))
                return job

            try:
                await run_chains(
                    chains,
                    executor=pool,
                    build_job=build,
                    on_done=record,
                    on_failed=lambda _job, error: pytest.fail(error),
                )
            finally:
                await pool.aclose()

    anyio.run(run)
    for chain in chains:
        for earlier, later in itertools.pairwise(chain):
            assert events.index(("recorded", earlier.match_id)) < events.index(("built", later.match_id))
    jobs = [job for chain in chains for job in chain]
    assert [done[job.match_id] for job in jobs] == anyio.run(_play_all, InProcessExecutor(runtime), jobs)


def test_should_stop_stops_launching_at_the_next_match_boundary(
    make_job: JobFactory, runtime: SandboxRuntime
) -> None:
    done: list[int] = []
    executor = InProcessExecutor(runtime)
    anyio.run(
        lambda: run_chains(
            [[make_job(index, "rotate", "constant")] for index in range(6)],
            executor=executor,
            build_job=lambda job: job,
            on_done=lambda job, _played: done.append(job.match_id),
            on_failed=lambda _job, error: pytest.fail(error),
            should_stop=lambda: len(done) >= 2,
        )
    )
    assert done == [0, 1]


def test_worker_processes_stop_launching_too_and_finish_what_is_in_flight(make_job: JobFactory) -> None:
    built: list[int] = []
    done: list[int] = []
    pool = LocalProcessExecutor(2)

    def build(job: MatchJob) -> MatchJob:
        built.append(job.match_id)
        return job

    async def run() -> None:
        try:
            await run_chains(
                [[make_job(index, "rotate", "constant")] for index in range(40)],
                executor=pool,
                build_job=build,
                on_done=lambda job, _played: done.append(job.match_id),
                on_failed=lambda _job, error: pytest.fail(error),
                should_stop=lambda: len(done) >= 2,
            )
        finally:
            await pool.aclose()

    anyio.run(run)
    assert 2 <= len(done) <= 2 + pool.slots  # at most what was in the workers' pipes when it stopped
    assert sorted(done) == sorted(built)  # every job sent was played and reported


def test_executor_specs(runtime: SandboxRuntime) -> None:
    assert check_executor_spec(None) is None
    assert check_executor_spec("local") is None
    assert check_executor_spec("dask://scheduler.lan:8786") == "tcp://scheduler.lan:8786"
    for bad in ("dask://", "dask://host", "ray://host:1", "tcp://host:8786", "dask:/host:1"):
        with pytest.raises(UnknownExecutorError, match="use local or dask://HOST:PORT"):
            check_executor_spec(bad)
    source = lambda digest: b""  # noqa: E731
    one = open_executor(None, workers=1, runtime=runtime, cache_dir=None, components=source)
    many = open_executor("local", workers=3, runtime=runtime, cache_dir=None, components=source)
    assert isinstance(one, InProcessExecutor)
    assert one.slots == 1
    assert isinstance(many, LocalProcessExecutor)
    assert many.slots == 6  # two jobs in flight per worker process (pipelined)


def test_workers_die_with_their_coordinator(tmp_path: Path) -> None:
    """kill -9 of the coordinator leaves no worker behind (they get SIGKILL from the kernel on Linux)."""
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import anyio, sys\n"
        "from tournament.orchestration.executors.local import LocalProcessExecutor\n"
        "async def main():\n"
        "    pool = LocalProcessExecutor(2)\n"
        "    await pool._checkout()\n"
        "    print(*pool.pids(), flush=True)\n"
        "    await anyio.sleep(60)\n"
        "anyio.run(main)\n"
    )
    coordinator = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert coordinator.stdout is not None
    (worker,) = map(int, coordinator.stdout.readline().split())
    os.kill(coordinator.pid, signal.SIGKILL)
    coordinator.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(worker):
        time.sleep(0.05)
    assert not _alive(worker)


def _alive(pid: int) -> bool:
    from tournament.services.run_lease import process_alive

    return process_alive(pid)


def test_an_idle_worker_rests_its_epoch_ticker_and_the_next_job_restarts_it(
    make_job: JobFactory, runtime: SandboxRuntime
) -> None:
    """A pooled worker may wait hours for its next run: its ticker would wake it 100 times a second."""
    jobs = [make_job(index, a, b) for index, (a, b) in enumerate(PAIRS[:3])]
    expected = anyio.run(_play_all, InProcessExecutor(runtime), jobs)

    async def main() -> list[tuple[list[str], MatchPlayed]]:
        executor = LocalProcessExecutor(1, target=threads_then_play, depth=1)  # type: ignore[arg-type]
        try:
            first = await executor.play(jobs[0])
            second = await executor.play(jobs[1])  # sent at once: the worker had no time to rest
            await anyio.sleep(IDLE_AFTER_S * 6)
            third = await executor.play(jobs[2])
        finally:
            await executor.aclose()
        return [first, second, third]  # type: ignore[list-item]

    (before_first, *_), (before_second, second), (before_third, third) = anyio.run(main)
    assert "epoch-ticker" not in before_first  # no runtime yet
    assert "epoch-ticker" in before_second
    assert "epoch-ticker" not in before_third
    assert [second, third] == expected[1:]


def test_idle_tasks_run_once_at_the_next_idle_moment() -> None:
    ran: list[str] = []

    def task() -> None:
        ran.append("closed")

    def broken() -> None:
        raise OSError("gone")

    jobs_module.when_idle(broken)
    jobs_module.when_idle(task)
    jobs_module.when_idle(task)
    jobs_module.worker_idle()
    jobs_module.worker_idle()
    assert ran == ["closed"]
