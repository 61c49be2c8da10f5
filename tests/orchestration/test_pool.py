"""A long-lived host's worker pool: runs borrow warm runtimes and worker processes, and results never
depend on whether a run started warm or cold."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tournament.orchestration.executors.pool import WorkerPool
from tournament.orchestration.match import MatchPlayed
from tournament.paths import BUILTINS_MANIFEST
from tournament.persistence import Database, open_database
from tournament.persistence.tournaments import MatchInfo, TournamentInfo
from tournament.services.exports import write_rounds_csv
from tournament.services.run_lease import process_alive
from tournament.services.tournaments import (
    ProgressCallback,
    TournamentRequest,
    create_tournament,
    run_tournament,
)

FIELD = ("beat-last", "constant", "rotate", "rfind")
MATCHES = 12  # 6 pairs, 2 repetitions


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with open_database(f"sqlite:///{tmp_path / 'pool.db'}", builtins_manifest=BUILTINS_MANIFEST) as database:
        yield database


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    with WorkerPool(max_idle_workers=4) as pool:
        yield pool


def _create(db: Database) -> int:
    request = TournamentRequest(game="rps", rounds=60, seed=5, strategies=FIELD, repetitions=2, noise=0.1)
    return create_tournament(db, request)


def _export(db: Database, tournament_id: int) -> str:
    out = io.StringIO()
    write_rounds_csv(db, tournament_id, out)
    return out.getvalue()


def _run(
    db: Database, cache: Path, workers: int, pool: WorkerPool | None, on_match: ProgressCallback | None = None
) -> int:
    tournament_id = _create(db)
    info = run_tournament(db, tournament_id, workers=workers, cache_dir=cache, pool=pool, on_match=on_match)
    assert (info.status, info.error) == ("finished", None)
    return tournament_id


def _wait_gone(pids: list[int]) -> list[int]:
    """The pids still alive after waiting up to 30 s for them to exit."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(map(process_alive, pids)):
        time.sleep(0.02)
    return [pid for pid in pids if process_alive(pid)]


def test_a_second_run_reuses_the_workers_and_plays_what_a_cold_run_plays(
    db: Database, pool: WorkerPool, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cold = _run(db, cache, 2, None)
    first = _run(db, cache, 2, pool)
    workers = sorted(pool.idle_worker_pids())
    assert len(workers) == 2
    second = _run(db, cache, 2, pool)
    assert sorted(pool.idle_worker_pids()) == workers  # the same processes played the second run
    assert all(map(process_alive, workers))
    assert _export(db, first) == _export(db, cold)
    assert _export(db, second) == _export(db, cold)


def test_a_worker_killed_while_idle_is_replaced_on_the_next_run(
    db: Database, pool: WorkerPool, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    expected = _export(db, _run(db, cache, 2, pool))
    victim, survivor = pool.idle_worker_pids()
    os.kill(victim, signal.SIGKILL)
    assert _wait_gone([victim]) == []
    again = _run(db, cache, 2, pool)
    assert _export(db, again) == expected
    workers = pool.idle_worker_pids()
    assert survivor in workers
    assert victim not in workers
    assert len(workers) == 2


def test_concurrent_runs_in_threads_share_one_pool(db: Database, pool: WorkerPool, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    expected = _export(db, _run(db, cache, 1, None))
    _run(db, cache, 2, pool)  # leaves two idle workers: the concurrent runs below take them and fork more
    both_playing = threading.Barrier(2, timeout=60)
    results: dict[int, TournamentInfo | BaseException] = {}

    def play(workers: int, tournament_id: int) -> None:
        def meet(_match: MatchInfo, _played: MatchPlayed) -> None:
            if not both_playing.broken:
                both_playing.wait()  # each run waits for the other: they overlap

        try:
            results[tournament_id] = run_tournament(
                db, tournament_id, workers=workers, cache_dir=cache, pool=pool, on_match=meet
            )
        except BaseException as error:
            both_playing.abort()
            results[tournament_id] = error

    for workers in (2, 1):
        ids = [_create(db), _create(db)]
        threads = [threading.Thread(target=play, args=(workers, tid)) for tid in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        both_playing.reset()
        for tournament_id in ids:
            info = results[tournament_id]
            assert isinstance(info, TournamentInfo), info
            assert (info.status, info.error) == ("finished", None)
            assert _export(db, tournament_id) == expected
    assert len(pool.idle_worker_pids()) == 4  # both 2-worker runs gave theirs back (the cap is 4)


def test_the_in_process_runtime_is_reused_but_never_shared_by_concurrent_runs(
    db: Database, pool: WorkerPool, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    _run(db, cache, 1, pool)
    [runtime] = pool.idle_runtimes()
    _run(db, cache, 1, pool)
    assert pool.idle_runtimes() == [runtime]  # the same object served the second run

    overlapping = threading.Barrier(2, timeout=60)
    errors: list[BaseException] = []

    def meet(_match: MatchInfo, _played: MatchPlayed) -> None:
        if not overlapping.broken:
            overlapping.wait()

    def play() -> None:
        try:
            _run(db, cache, 1, pool, on_match=meet)
        except BaseException as error:
            overlapping.abort()
            errors.append(error)

    threads = [threading.Thread(target=play) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert not overlapping.broken
    runtimes = pool.idle_runtimes()
    assert len(runtimes) == 2  # a second runtime was made for the run that overlapped the first
    assert runtime in runtimes


def test_closing_the_pool_lets_its_workers_go(db: Database, tmp_path: Path) -> None:
    pool = WorkerPool()
    _run(db, tmp_path / "cache", 2, pool)
    workers = pool.idle_worker_pids()
    assert len(workers) == 2
    pool.close()
    assert pool.idle_worker_pids() == []
    assert pool.idle_runtimes() == []
    assert _wait_gone(workers) == []
    _run(db, tmp_path / "cache", 2, pool)  # a closed pool lends nothing and keeps nothing
    assert pool.idle_worker_pids() == []


def test_workers_beyond_the_cap_or_past_their_runs_are_let_go(db: Database, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with WorkerPool(max_idle_workers=1, max_runs=2) as pool:
        _run(db, cache, 2, pool)
        [kept] = pool.idle_worker_pids()
        _run(db, cache, 2, pool)  # `kept` serves its second run, its last
        assert kept not in pool.idle_worker_pids()
        assert len(pool.idle_worker_pids()) == 1  # the worker forked for this run is kept instead
        assert _wait_gone([kept]) == []
