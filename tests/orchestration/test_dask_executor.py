"""The Dask backend on a real LocalCluster of worker processes: same results as the local backend,
components shipped by content hash and verified by the workers, a dead worker reported as such.

One cluster serves the module (start-up costs seconds); its workers keep their own artifact cache, so
they compile from the bytes they are shipped rather than reuse the coordinator's artifacts.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import shutil
import signal
import socket
import subprocess
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import dask
import pytest
from distributed import Client, LocalCluster
from distributed.security import Security

from tests.cli.conftest import Cli, tournament_id
from tests.wasm_builders import BUILD_DIR
from tournament.orchestration.executors.base import WorkerLostError
from tournament.orchestration.executors.dask import (
    ClusterError,
    ComponentIntegrityError,
    DaskExecutor,
    EngineMismatchError,
    engine_identity,
    load_component,
    play_on_worker,
    worker_statistics,
)
from tournament.orchestration.jobs import MatchJob, Seat, execute
from tournament.orchestration.match import MatchPlayed
from tournament.paths import BUILTINS_MANIFEST
from tournament.persistence import open_database
from tournament.rules.seeds import derive_seed, opponent_id
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.runtime import SandboxRuntime
from tournament.services.exports import write_rounds_csv, write_standings_csv
from tournament.services.tournaments import (
    TournamentRequest,
    create_tournament,
    run_tournament,
    tournament_standings,
)

FIELD = ("beat-last", "constant", "rotate", "uniform-random", "rfind", "iocaine-powder", "bandit", "flat")


def component(name: str) -> bytes:
    return (BUILD_DIR / f"{name}.wasm").read_bytes()


COMPONENTS = {content_hash(data): data for data in map(component, FIELD)}


def match_job(a: str, b: str, *, rounds: int = 200, seed: int = 1, match_id: int = 1) -> MatchJob:
    return MatchJob(
        match_id=match_id,
        game="rps",
        rounds=rounds,
        seed=seed,
        noise=0.1,
        hidden_rounds=False,
        limits=SandboxLimits(),
        a=Seat(a, content_hash(component(a)), derive_seed(seed, "a"), opponent_id(b)),
        b=Seat(b, content_hash(component(b)), derive_seed(seed, "b"), opponent_id(a)),
    )


@pytest.fixture(scope="module")
def worker_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("worker-artifacts")


@pytest.fixture(scope="module")
def cluster(worker_cache: Path) -> Iterator[LocalCluster]:
    """Two single-threaded worker processes with their own (initially empty) artifact cache."""
    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
        silence_logs=logging.ERROR,
        env={"TOURNAMENT_CACHE": str(worker_cache)},
    ) as running:
        yield running


def host_port(cluster: LocalCluster) -> str:
    address = cluster.scheduler_address
    assert address.startswith("tcp://")
    return address.removeprefix("tcp://")


def play_all(executor_factory: Callable[[], DaskExecutor], jobs: list[MatchJob]) -> dict[int, MatchPlayed]:
    async def main() -> dict[int, MatchPlayed]:
        executor = executor_factory()
        results: dict[int, MatchPlayed] = {}

        async def one(job: MatchJob) -> None:
            results[job.match_id] = await executor.play(job)

        try:
            async with anyio.create_task_group() as group:
                for job in jobs:
                    group.start_soon(one, job)
        finally:
            await executor.aclose()
        return results

    return anyio.run(main)


def exports(db_url: str, *, executor: str | None, workers: int, cache_dir: Path) -> tuple[str, str]:
    """Create and run the same tournament; its rounds and standings CSV exports."""
    db = open_database(db_url, builtins_manifest=BUILTINS_MANIFEST)
    try:
        request = TournamentRequest(
            game="rps", rounds=150, seed=2026, repetitions=2, noise=0.05, strategies=FIELD
        )
        tournament = create_tournament(db, request)
        info = run_tournament(db, tournament, workers=workers, executor=executor, cache_dir=cache_dir)
        assert info.status == "finished"
        rounds, standings = io.StringIO(), io.StringIO()
        write_rounds_csv(db, tournament, rounds)
        write_standings_csv(tournament_standings(db, tournament), standings)
        return rounds.getvalue(), standings.getvalue()
    finally:
        db.close()


def test_tournament_on_dask_exports_byte_identical_to_local(
    cluster: LocalCluster, db_url: str, tmp_path: Path
) -> None:
    with Client(cluster, set_as_default=False) as observer:  # type: ignore[no-untyped-call]
        before = observer.run(worker_statistics)
        on_dask = exports(db_url, executor=f"dask://{host_port(cluster)}", workers=2, cache_dir=tmp_path)
        after = observer.run(worker_statistics)
    local = exports(db_url, executor=None, workers=1, cache_dir=tmp_path)
    assert on_dask == local
    assert on_dask[0].count("\n") == 1 + 28 * 2 * 150
    # Each worker process got each component at most once (compiled from shipped bytes, or from its disk
    # cache), however many of the 56 matches it played.
    for worker, stats in after.items():
        got = stats["compiled"] + stats["loaded_from_disk"]
        earlier = before[worker]["compiled"] + before[worker]["loaded_from_disk"] if worker in before else 0
        assert got - earlier <= len(FIELD)
    assert sum(stats["compiled"] for stats in after.values()) >= 1


def test_match_results_equal_in_process_execution(cluster: LocalCluster, tmp_path: Path) -> None:
    jobs = [
        match_job(a, b, seed=index, match_id=index)
        for index, (a, b) in enumerate(zip(FIELD, FIELD[1:] + FIELD[:1], strict=True))
    ]
    remote = play_all(
        lambda: DaskExecutor(cluster.scheduler_address, components=COMPONENTS.__getitem__, max_in_flight=3),
        jobs,
    )
    with SandboxRuntime(cache_dir=tmp_path) as runtime:
        for digest, data in COMPONENTS.items():
            runtime.prepare(data, digest)
        assert remote == {job.match_id: execute(job, runtime) for job in jobs}


def leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def padded(data: bytes, size: int) -> bytes:
    """`data` with a trailing custom section of `size` bytes: as large as a componentize-py strategy
    (which takes tens of seconds to compile), plays exactly like `data`."""
    name = b"tournament-test-padding"
    body = leb128(len(name)) + name + bytes(size)
    return data + b"\x00" + leb128(len(body)) + body


def test_a_large_component_is_shipped_once_and_plays_as_in_process(
    cluster: LocalCluster, worker_cache: Path
) -> None:
    large = padded(component("constant"), 20 << 20)
    sources = {**COMPONENTS, content_hash(large): large}
    asked: list[str] = []

    def source(digest: str) -> bytes:
        asked.append(digest)
        return sources[digest]

    jobs = [
        dataclasses.replace(job, a=dataclasses.replace(job.a, strategy="large", digest=content_hash(large)))
        for job in (
            match_job("constant", "rotate", match_id=1),
            match_job("constant", "iocaine-powder", match_id=2, seed=2),
            match_job("constant", "rfind", match_id=3, seed=3),
        )
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        remote = play_all(
            lambda: DaskExecutor(cluster.scheduler_address, components=source, max_in_flight=2), jobs
        )
    assert not [w for w in caught if "large graph" in str(w.message)]
    assert asked.count(content_hash(large)) == 1
    with SandboxRuntime(cache_dir=worker_cache) as runtime:
        for digest, data in sources.items():
            runtime.prepare(data, digest)
        assert remote == {job.match_id: execute(job, runtime) for job in jobs}


def test_slots_default_to_the_cluster_threads(cluster: LocalCluster) -> None:
    executor = DaskExecutor(cluster.scheduler_address, components=COMPONENTS.__getitem__, max_in_flight=0)
    try:
        assert executor.slots == 2
    finally:
        anyio.run(executor.aclose)


def test_workers_refuse_bytes_that_do_not_match_the_named_hash(cluster: LocalCluster) -> None:
    job = match_job("constant", "rotate")
    named = content_hash(b"a component nobody has compiled")
    forged = dataclasses.replace(job, a=dataclasses.replace(job.a, digest=named))
    lying_source = {**COMPONENTS, named: component("constant")}.__getitem__

    async def main() -> None:
        executor = DaskExecutor(cluster.scheduler_address, components=lying_source, max_in_flight=1)
        try:
            with pytest.raises(ComponentIntegrityError, match="refusing component bytes"):
                await executor.play(forged)
            await executor.play(job)  # the genuine components still play
        finally:
            await executor.aclose()

    anyio.run(main)


def test_load_component_verifies_compiles_once_and_caches(tmp_path: Path) -> None:
    data = component("rotate")
    digest = content_hash(data)
    with SandboxRuntime(cache_dir=tmp_path) as runtime:
        with pytest.raises(ComponentIntegrityError):
            load_component(runtime, digest, component("constant"))
        assert not runtime.cache.has(digest)
        load_component(runtime, digest, data)
        load_component(runtime, digest, data)
        load_component(runtime, digest, None)  # already here: the bytes are not needed again
        assert runtime.cache.compiled == 1
    with SandboxRuntime(cache_dir=tmp_path) as fresh:
        load_component(fresh, digest, None)  # from this machine's disk cache
        assert (fresh.cache.compiled, fresh.cache.loaded_from_disk) == (0, 1)


def test_worker_refuses_a_job_from_another_engine() -> None:
    job = match_job("constant", "rotate")
    assert engine_identity(job.limits.stack_bytes).startswith("tournament ")
    with pytest.raises(EngineMismatchError, match="install the same version"):
        play_on_worker(job, "tournament 0.0.0, engine 0000000000000000", None, None)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_unreachable_scheduler_is_a_one_line_cluster_error() -> None:
    port = closed_port()
    with pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"):
        DaskExecutor(
            f"tcp://127.0.0.1:{port}", components=COMPONENTS.__getitem__, max_in_flight=1, connect_timeout=1
        )


def test_a_worker_dying_mid_match_raises_worker_lost_and_the_cluster_recovers(tmp_path: Path) -> None:
    """With `allowed-failures` 0 the scheduler gives up at the first death (as the local backend does)."""
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
            env={"TOURNAMENT_CACHE": str(tmp_path)},
        ) as lonely,
        Client(lonely, set_as_default=False) as observer,  # type: ignore[no-untyped-call]
    ):
        pids: dict[str, int] = observer.run(os.getpid)

        async def main() -> MatchPlayed:
            executor = DaskExecutor(
                lonely.scheduler_address, components=COMPONENTS.__getitem__, max_in_flight=1
            )
            try:
                await executor.play(match_job("constant", "rotate"))  # warm: components compiled

                async def kill_when_playing() -> None:
                    while not any(observer.processing().values()):
                        await anyio.sleep(0.02)
                    (worker,) = pids
                    os.kill(pids[worker], signal.SIGKILL)

                async with anyio.create_task_group() as group:
                    group.start_soon(kill_when_playing)
                    with pytest.raises(WorkerLostError, match="died"):
                        await executor.play(match_job("constant", "rotate", rounds=1_000_000))
                return await executor.play(match_job("constant", "rotate"))
            finally:
                await executor.aclose()

        after = anyio.run(main)
    assert after.score.rounds == 200


@pytest.mark.slow
def test_a_match_cancelled_by_a_cluster_restart_is_submitted_again(tmp_path: Path) -> None:
    """`Client.restart` forgets every task, the shipped components too: they are shipped again."""
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
            env={"TOURNAMENT_CACHE": str(tmp_path)},
        ) as restarting,
        Client(restarting, set_as_default=False) as observer,  # type: ignore[no-untyped-call]
    ):
        long_match = match_job("constant", "rotate", rounds=50_000)
        asked: list[str] = []

        def source(digest: str) -> bytes:
            asked.append(digest)
            return COMPONENTS[digest]

        async def main() -> MatchPlayed:
            executor = DaskExecutor(restarting.scheduler_address, components=source, max_in_flight=1)
            try:
                await executor.play(match_job("constant", "rotate"))

                async def restart_when_playing() -> None:
                    while not any(observer.processing().values()):
                        await anyio.sleep(0.02)
                    await anyio.to_thread.run_sync(observer.restart)

                async with anyio.create_task_group() as group:
                    group.start_soon(restart_when_playing)
                    played = await executor.play(long_match)
            finally:
                await executor.aclose()
            return played

        played = anyio.run(main)
    assert sorted(asked) == sorted([long_match.a.digest, long_match.b.digest] * 2)
    with SandboxRuntime(cache_dir=tmp_path) as runtime:
        for digest, data in COMPONENTS.items():
            runtime.prepare(data, digest)
        assert played == execute(long_match, runtime)


def executor_option_exists() -> bool:
    from tournament.cli import options

    return hasattr(options, "ExecutorOption")


@pytest.mark.slow
@pytest.mark.skipif(not executor_option_exists(), reason="the CLI has no --executor option yet")
def test_cli_run_on_dask_exports_the_same_as_local(
    cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sqlite_cli = Cli(f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("TOURNAMENT_CACHE", str(tmp_path / "coordinator-artifacts"))
    args = ("run", "--game", "rps", "--rounds", "100", "--seed", "5", "--repetitions", "2",
            "--strategies", ",".join(FIELD[:5]))  # fmt: skip
    on_dask = sqlite_cli(*args, "--executor", f"dask://{host_port(cluster)}", "--workers", "2")
    local = sqlite_cli(*args, "--workers", "2")
    first, second = tournament_id(on_dask), tournament_id(local)
    assert (
        sqlite_cli("export", str(first), "--rounds").stdout
        == sqlite_cli("export", str(second), "--rounds").stdout
    )
    assert sqlite_cli.json("standings", str(first)) == sqlite_cli.json("standings", str(second))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a test certificate")
def test_scheduler_is_reached_over_tls_when_the_configuration_requires_encryption(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    files = {"tls_ca_file": str(cert)} | {
        f"tls_{role}_{part}": str(path)
        for role in ("scheduler", "worker", "client")
        for part, path in (("cert", cert), ("key", key))
    }
    security = Security(**files, require_encryption=True)  # type: ignore[no-untyped-call]
    client_config = {
        "distributed.comm.require-encryption": True,
        "distributed.comm.tls.ca-file": str(cert),
        "distributed.comm.tls.client.cert": str(cert),
        "distributed.comm.tls.client.key": str(key),
    }
    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tls://",
        host="127.0.0.1",
        security=security,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    ) as secure:
        address = "tcp://" + secure.scheduler_address.removeprefix("tls://")  # what `dask://` specs become
        with pytest.raises(ClusterError):
            DaskExecutor(address, components=COMPONENTS.__getitem__, max_in_flight=1, connect_timeout=2)
        with dask.config.set(client_config):
            played = play_all(
                lambda: DaskExecutor(address, components=COMPONENTS.__getitem__, max_in_flight=1),
                [match_job("constant", "rotate")],
            )
    assert played[1].score.rounds == 200


def test_cli_reports_an_unreachable_scheduler_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "1s")
    cli = Cli(f"sqlite:///{tmp_path / 'cli.db'}")
    port = closed_port()
    result = cli("run", "--rounds", "10", "--strategies", "constant,rotate", "--executor",
                 f"dask://127.0.0.1:{port}", expect=1)  # fmt: skip
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    )
    assert "Traceback" not in result.stderr
