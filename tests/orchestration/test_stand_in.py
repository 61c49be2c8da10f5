"""The coordinator stands in for its last worker while cold workers start: every match is still played
exactly once, as any worker plays it, and a job whose worker died is retried by a worker, never here."""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest

from tests.orchestration.conftest import JobFactory
from tests.orchestration.faults import FAULTS_ENV, GATE_ENV, play_or_abort, wait_for_gate_then_play
from tournament.orchestration.executors.local import InProcessExecutor, JobFunction, LocalProcessExecutor
from tournament.orchestration.executors.pool import WorkerPool
from tournament.orchestration.jobs import MatchJob, execute
from tournament.orchestration.match import MatchPlayed
from tournament.orchestration.runner import run_chains
from tournament.paths import BUILTINS_MANIFEST
from tournament.persistence.database import Database, open_database
from tournament.sandbox.runtime import SandboxRuntime
from tournament.services import tournaments
from tournament.services.exports import write_rounds_csv
from tournament.services.tournaments import TournamentRequest, create_tournament, run_tournament

PAIRS = [("beat-last", "rotate"), ("rfind", "constant"), ("bandit", "beat-last"), ("rotate", "rfind")]


def _chains(make_job: JobFactory) -> list[list[MatchJob]]:
    return [[make_job(10 * chain + index, *PAIRS[chain]) for index in range(3)] for chain in range(4)]


def _run(
    executor: LocalProcessExecutor, chains: list[list[MatchJob]]
) -> tuple[dict[int, MatchPlayed], Counter[int], dict[int, str]]:
    done: dict[int, MatchPlayed] = {}
    reported: Counter[int] = Counter()
    failed: dict[int, str] = {}

    def on_done(job: MatchJob, played: MatchPlayed) -> None:
        done[job.match_id] = played
        reported[job.match_id] += 1

    async def run() -> None:
        try:
            await run_chains(
                chains,
                executor=executor,
                build_job=lambda job: job,
                on_done=on_done,
                on_failed=lambda job, error: failed.__setitem__(job.match_id, error),
            )
        finally:
            await executor.aclose()

    anyio.run(run)
    return done, reported, failed


def _reference(runtime: SandboxRuntime, chains: list[list[MatchJob]]) -> dict[int, MatchPlayed]:
    executor = InProcessExecutor(runtime)

    async def play() -> dict[int, MatchPlayed]:
        return {job.match_id: await executor.play(job) for chain in chains for job in chain}

    return anyio.run(play)


def _inline(runtime: SandboxRuntime, after: Callable[[MatchJob], None]) -> tuple[JobFunction, list[int]]:
    played: list[int] = []
    lock = threading.Lock()

    def inline(job: MatchJob) -> MatchPlayed:
        result = execute(job, runtime)
        with lock:
            played.append(job.match_id)
        after(job)
        return result

    return inline, played


def test_a_short_run_is_played_here_without_starting_a_worker(
    make_job: JobFactory, runtime: SandboxRuntime
) -> None:
    chains = _chains(make_job)
    inline, played_here = _inline(runtime, lambda _job: None)
    executor = LocalProcessExecutor(2, inline=inline)
    anyio.run(executor.start, len(chains))
    done, reported, failed = _run(executor, chains)
    assert (failed, set(reported.values())) == ({}, {1})
    assert done == _reference(runtime, chains)
    assert sorted(played_here) == sorted(done)
    assert (executor.started, executor.played_inline) == (0, len(done))


def test_a_run_long_at_this_pace_starts_its_workers_and_plays_every_match_once(
    make_job: JobFactory, runtime: SandboxRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Matches here take 30 ms, so that the 10 left after two outlast a worker's start; the workers then
    play nothing until this process has played three matches (they are slow to start)."""
    gate = tmp_path / "gate"
    monkeypatch.setenv(GATE_ENV, str(gate))

    def after(_job: MatchJob) -> None:
        time.sleep(0.03)
        if len(played_here) >= 3:
            gate.touch()

    inline, played_here = _inline(runtime, after)
    chains = _chains(make_job)
    executor = LocalProcessExecutor(2, target=wait_for_gate_then_play, inline=inline)
    done, reported, failed = _run(executor, chains)
    assert failed == {}
    assert set(reported.values()) == {1}
    assert done == _reference(runtime, chains)
    assert 3 <= len(played_here) < len(done)
    assert executor.played_inline == len(played_here)
    assert executor.started == 2


def test_a_job_whose_worker_died_is_retried_by_a_worker_not_by_the_coordinator(
    make_job: JobFactory, runtime: SandboxRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every match aborts its worker on its first attempt there. Matches here take 30 ms, so that the
    workers start; this process keeps taking first attempts until they answer, never a match a worker
    died on (a second death would take it down)."""
    faults = tmp_path / "faults"
    faults.mkdir()
    chains = _chains(make_job)
    for chain in chains:
        for job in chain:
            (faults / f"abort-once-{job.match_id}").touch()
    monkeypatch.setenv(FAULTS_ENV, str(faults))

    def aborted() -> set[int]:
        left = {int(path.name.rsplit("-", 1)[1]) for path in faults.iterdir()}
        return {job.match_id for chain in chains for job in chain} - left

    inline, played_here = _inline(runtime, lambda _job: time.sleep(0.03))
    executor = LocalProcessExecutor(2, target=play_or_abort, inline=inline)
    done, reported, failed = _run(executor, chains)
    assert failed == {}
    assert set(reported.values()) == {1}
    assert done == _reference(runtime, chains)
    assert aborted()  # some matches were retried after their worker died ...
    assert aborted().isdisjoint(played_here)  # ... and none of them here
    assert executor.started >= 3  # two workers, and at least one replaced


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with open_database(f"sqlite:///{tmp_path / 'runs.db'}", builtins_manifest=BUILTINS_MANIFEST) as database:
        yield database


def _export(db: Database, tournament_id: int) -> list[str]:
    out = io.StringIO()
    write_rounds_csv(db, tournament_id, out)
    return [line.split(",", 1)[1] for line in out.getvalue().splitlines()]  # without the match ids


def test_a_one_shot_run_records_what_an_in_process_run_records_with_or_without_its_stand_in(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = TournamentRequest(
        game="rps", rounds=50, seed=9, strategies=("beat-last", "constant", "rotate", "rfind", "bandit"),
        repetitions=2, noise=0.05,
    )  # fmt: skip
    cache = tmp_path / "cache"
    reference = create_tournament(db, request)
    assert run_tournament(db, reference, workers=1, cache_dir=cache).status == "finished"
    for stand_in in (True, False):
        monkeypatch.setenv(tournaments.STAND_IN_ENV, "1" if stand_in else "0")
        tournament_id = create_tournament(db, request)
        assert run_tournament(db, tournament_id, workers=2, cache_dir=cache).status == "finished"
        assert _export(db, tournament_id) == _export(db, reference)


def test_a_warm_run_leaves_every_job_to_its_workers(make_job: JobFactory, runtime: SandboxRuntime) -> None:
    chains = _chains(make_job)
    inline, played_here = _inline(runtime, lambda _job: None)
    with WorkerPool() as pool:
        first = LocalProcessExecutor(2, pool=pool)
        _run(first, chains)
        warm = LocalProcessExecutor(2, pool=pool, inline=inline)
        anyio.run(warm.start, 2)
        done, reported, failed = _run(warm, chains)
    assert (failed, set(reported.values())) == ({}, {1})
    assert done == _reference(runtime, chains)
    assert (played_here, warm.played_inline, warm.started, warm.reused) == ([], 0, 0, 2)
