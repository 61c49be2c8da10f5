"""Engine benchmarks, measured side by side in one run (these machines are noisy: compare ratios).

1. Host overhead per move call: wasmtime-py's stock `Func.__call__` versus the engine's player call
   (which also sets fuel and the epoch deadline), on a trivial component. Target: <= 5 us (issue 6).
2. Tournament throughput: first what a worker spends playing the IPD field's matches (no persistence,
   the worker's own entry point; side by side with the clean rounds in Python instead of C, and with
   wasmtime's default allocator instead of the pooling one), then a full round robin, every round
   persisted to SQLite, in rounds per second, with 1 worker and with one worker per core, through the
   real service path (create + run on a fresh database), next to the Axelrod library's in-process
   rate for the same IPD field (`bench_axelrod.py`, in its own venv; skipped with a message if it
   cannot be installed), measured right before and right after ours and compared with the mean of the
   two. Each run is measured cold (no worker pool: what a one-shot `tournament run` pays) and warm (one
   `WorkerPool` for all the timed runs, as the scheduler daemon keeps), the two alternating run by run.

Run: `.venv/bin/python benchmarks/bench_engine.py [--quick]` after `make setup`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from tournament.rules.records import RoundRecord
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.fastcall import NextMoveCall, StockNextMoveCall, round_record
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.player import PlayerSetup, WasmPlayer
from tournament.sandbox.runtime import SandboxRuntime

if TYPE_CHECKING:
    from tournament.orchestration.executors.pool import WorkerPool

try:
    from benchmarks import bench_axelrod
except ModuleNotFoundError:  # run as a script: its own folder is on sys.path
    import bench_axelrod  # type: ignore[no-redef, import-not-found]

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "strategies" / "build"


def _medians_us(
    runs: dict[str, Callable[[], None]], calls: int, repeats: int
) -> dict[str, tuple[float, float]]:
    """Median microseconds per call of each path: (wall clock, CPU time of this thread).

    The paths take turns, one run each per repeat, so a slow spell of the (shared, virtual) machine hits
    every path alike instead of all the repeats of one. The CPU figure is what the host spends per call;
    on a shared machine the wall clock also counts time the process waited for a core.
    """
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start, start_cpu = time.perf_counter(), time.thread_time()
            run()
            cpu[name].append((time.thread_time() - start_cpu) / calls * 1e6)
            wall[name].append((time.perf_counter() - start) / calls * 1e6)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in runs}


def bench_call_overhead(calls: int, repeats: int) -> dict[str, tuple[float, float]]:
    """Median microseconds per next-move call through each path, on the same trivial component."""
    data = (BUILD / "constant.wasm").read_bytes()
    limits = SandboxLimits()
    last = RoundRecord(0, 1, 2, -1, 1)
    record = round_record((1, 2, -1, 1))
    with SandboxRuntime(limits.stack_bytes) as runtime:
        runtime.prepare(data)
        component = runtime.component(content_hash(data))
        setup = PlayerSetup("rps", ("rock", "paper", "scissors"), 1000, 1, 2)

        def started(fast: bool) -> WasmPlayer:
            player = WasmPlayer(runtime.engine, component, setup, limits, runtime.ticker, fast=fast)
            if player.start() is not None:
                raise SystemExit("constant.wasm failed to start")
            return player

        stock_player = started(fast=False)
        stock_call = stock_player._call
        assert isinstance(stock_call, StockNextMoveCall)
        store, func = stock_call._store, stock_call._func

        def stock() -> None:
            for _ in range(calls):
                store.set_fuel(limits.fuel_per_move)
                store.set_epoch_deadline(100)
                func(store, record)

        def player_loop(player: WasmPlayer) -> Callable[[], None]:
            def run() -> None:
                for _ in range(calls):
                    player.next_move(last)
                player._seen.clear()

            return run

        def player_keyed(player: WasmPlayer) -> Callable[[], None]:
            key = (last.move_a, last.move_b, last.payoff_a, last.payoff_b)

            def run() -> None:
                move = player.move
                for _ in range(calls):
                    move(key)
                player._seen.clear()

            return run

        def player_mover(player: WasmPlayer) -> Callable[[], None]:
            key = (last.move_a, last.move_b, last.payoff_a, last.payoff_b)

            def run() -> None:
                move = player.mover()
                assert move is not None
                for _ in range(calls):
                    move(key)
                player._seen.clear()

            return run

        fast_player = started(fast=True)
        fast_call = fast_player._call
        assert isinstance(fast_call, NextMoveCall)
        key = (1, 2, -1, 1)

        def fast_only() -> None:
            for _ in range(calls):
                fast_call(key, limits.fuel_per_move, 100)

        results = _medians_us(
            {
                "stock Func.__call__ (+ fuel, deadline)": stock,
                "engine fast call (NextMoveCall)": fast_only,
                "engine player, stock path": player_loop(stock_player),
                "engine player, fast path": player_loop(fast_player),
                "engine player, fast path, keyed": player_keyed(fast_player),
                "engine player, move function": player_mover(fast_player),
            },
            calls,
            repeats,
        )
        for player in (stock_player, fast_player):
            player.close()
    return results


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            del os.environ[name]
        else:
            os.environ[name] = saved


class PlayCosts(NamedTuple):
    """`bench_play`'s medians, in CPU time."""

    rate: float
    """Rounds per CPU second."""
    us_per_round: float
    start_us: float
    """Per match, starting and closing both players."""
    python_us: float | None
    """Per round with the match loop's clean rounds in Python (`TOURNAMENT_NATIVE=0`); None when the C
    loop is unavailable."""
    on_demand_us: float | None
    """Per round on an engine with wasmtime's default allocator (`TOURNAMENT_POOLING=0`); None when
    pooling is off anyway."""


def bench_play(strategies: list[str], rounds: int, repeats: int) -> PlayCosts:
    """What a worker spends playing a round robin's matches, nothing persisted: the worker's entry point
    (`jobs.execute`) in this thread, every match of the field once per repeat (after a warm-up pass).

    Each repeat plays one pass with each variant side by side: the C loop or not, and a second runtime
    whose engine has wasmtime's default on-demand allocator instead of the pooling one.
    """
    from tournament.orchestration.jobs import MatchJob, Seat, execute
    from tournament.rules.games import IPD
    from tournament.sandbox import native
    from tournament.sandbox.engine import POOLING_ENV, pooling_enabled

    limits = SandboxLimits()
    with contextlib.ExitStack() as stack:
        runtime = stack.enter_context(SandboxRuntime(limits.stack_bytes))
        on_demand = None
        if pooling_enabled():
            with _env(POOLING_ENV, "0"):
                on_demand = stack.enter_context(SandboxRuntime(limits.stack_bytes))
        digests = {}
        for name in strategies:
            data = (BUILD / f"{name}.wasm").read_bytes()
            for each in (runtime, on_demand):
                if each is not None:
                    each.prepare(data)
            digests[name] = content_hash(data)
        jobs = [
            MatchJob(
                i,
                "ipd",
                rounds,
                1000 + i,
                0.0,
                False,
                limits,
                Seat(a, digests[a], 1, 2),
                Seat(b, digests[b], 3, 4),
            )
            for i, (a, b) in enumerate(itertools.combinations(strategies, 2))
        ]
        for each in (runtime, on_demand):
            for job in jobs:
                if each is not None:
                    execute(job, each)
        per_round, starts, python_per_round, on_demand_per_round = [], [], [], []
        loops = [False, True] if native.rounds() is not None else [False]

        def play_pass(native_loop: bool, on: SandboxRuntime) -> float:
            with _env("TOURNAMENT_NATIVE", "1" if native_loop else "0"):
                start = time.thread_time()
                for job in jobs:
                    execute(job, on)
                return (time.thread_time() - start) / (len(jobs) * rounds)

        for _ in range(repeats):
            if len(loops) > 1:
                python_per_round.append(play_pass(False, runtime))
            per_round.append(play_pass(loops[-1], runtime))
            if on_demand is not None:
                on_demand_per_round.append(play_pass(loops[-1], on_demand))
            setup = PlayerSetup("ipd", IPD.moves, rounds, 1, 2)
            start = time.thread_time()
            for a, b in itertools.combinations(strategies, 2):
                for name in (a, b):
                    player = runtime.player(digests[name], setup, limits)
                    player.start()
                    player.close()
            starts.append((time.thread_time() - start) / len(jobs))
    cpu = statistics.median(per_round)
    python_us = statistics.median(python_per_round) * 1e6 if python_per_round else None
    on_demand_us = statistics.median(on_demand_per_round) * 1e6 if on_demand_per_round else None
    return PlayCosts(1 / cpu, cpu * 1e6, statistics.median(starts) * 1e6, python_us, on_demand_us)


def _tournament_run(
    game: str, strategies: list[str], rounds: int, workers: int, pool: WorkerPool | None
) -> tuple[float, float]:
    """One full round robin on a fresh SQLite database (created untimed): (rounds per wall-clock second,
    per CPU second of this process) of `run_tournament`."""
    from tournament.persistence.database import open_database
    from tournament.services.tournaments import TournamentRequest, create_tournament, run_tournament

    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{tmp}/bench.db", builtins_manifest=BUILD / "manifest.json")
        try:
            tid = create_tournament(
                db, TournamentRequest(game=game, rounds=rounds, seed=1, strategies=strategies)
            )
            start, start_cpu = time.perf_counter(), time.process_time()
            run_tournament(db, tid, workers=workers, pool=pool)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        finally:
            db.close()
    n = len(strategies)
    return n * (n - 1) // 2 * rounds / elapsed, n * (n - 1) // 2 * rounds / cpu


def bench_tournament(
    game: str, strategies: list[str], rounds: int, workers: int, runs: int = 1
) -> tuple[float, float]:
    """Rounds per second for a full round robin persisted to a fresh SQLite database (median of runs),
    each run cold (no worker pool).

    Each run creates a fresh database and tournament (not timed), then times `run_tournament`. Returns
    (per wall-clock second, per CPU second of this process); the second means something only in-process.
    """
    rates = [_tournament_run(game, strategies, rounds, workers, None) for _ in range(runs)]
    return statistics.median(r for r, _ in rates), statistics.median(c for _, c in rates)


class ColdWarm(NamedTuple):
    """`bench_tournament_cold_warm`'s medians: (rounds per wall second, per CPU second of this process)."""

    cold: tuple[float, float]
    warm: tuple[float, float]
    cold_all_forked: float | None
    """Cold, every worker forked (`TOURNAMENT_STAND_IN=0`), per wall second; None with one worker."""


def bench_tournament_cold_warm(
    game: str, strategies: list[str], rounds: int, workers: int, runs: int = 1
) -> ColdWarm:
    """`bench_tournament`'s medians cold and warm, runs alternating (cold, warm, cold ...).

    Cold runs have no pool: a fresh sandbox runtime or freshly forked workers, what a one-shot `tournament
    run` pays (with more than one worker, this process stands in for the last one while they start, and
    each cold run is paired with one where every worker is forked, `TOURNAMENT_STAND_IN=0`). Warm runs
    share one `WorkerPool` (after one untimed run with it), as a long-lived host's runs do: the previous
    run's runtime or worker processes, their components already loaded.
    """
    from tournament.orchestration.executors.pool import WorkerPool
    from tournament.services.tournaments import STAND_IN_ENV

    cold, warm, forked = [], [], []
    with WorkerPool() as pool:
        _tournament_run(game, strategies, rounds, workers, pool)
        for _ in range(runs):
            cold.append(_tournament_run(game, strategies, rounds, workers, None))
            warm.append(_tournament_run(game, strategies, rounds, workers, pool))
            if workers > 1:
                with _env(STAND_IN_ENV, "0"):
                    forked.append(_tournament_run(game, strategies, rounds, workers, None)[0])
    return ColdWarm(
        (statistics.median(r for r, _ in cold), statistics.median(c for _, c in cold)),
        (statistics.median(r for r, _ in warm), statistics.median(c for _, c in warm)),
        statistics.median(forked) if forked else None,
    )


def _axelrod(runs: int, rounds: int, into: list[dict[str, Any]]) -> str | None:
    """Measure Axelrod's rates (its medians of `runs`) into `into`; the reason if it cannot be measured.

    Axelrod is measured right before and right after our persisted runs, and compared with the mean of
    the two: the machine's speed drifts from minute to minute (Axelrod's rate has varied 1.7x within ten
    minutes), and a baseline taken on one side of our runs only would favour or penalise them by chance.
    """
    try:
        into.append(bench_axelrod.measure(runs, rounds))
    except bench_axelrod.AxelrodUnavailableError as error:
        return str(error)
    return None


IPD_FIELD = [
    "alternator", "cooperator", "defector", "grudger", "suspicious-tit-for-tat", "tit-for-tat",
    "tit-for-two-tats", "win-stay-lose-shift",
]  # fmt: skip


RPS_C_FIELD = [
    "always-switch", "anti-flat", "bandit", "beat-last", "biased-random", "constant", "de-bruijn", "flat",
    "iocaine-powder", "rfind", "rotate", "uniform-random",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer calls and repeats (a smoke run)")
    args = parser.parse_args()
    calls, repeats, runs = (2_000, 3, 1) if args.quick else (20_000, 7, 5)
    cores = os.cpu_count() or 1
    print(f"machine: {cores} cores, Python {sys.version.split()[0]}")

    timings = bench_call_overhead(calls, repeats)
    stock_wall, stock_cpu = timings["stock Func.__call__ (+ fuel, deadline)"]
    print(f"\n1. host overhead per next-move call, trivial component (median of {repeats} x {calls} calls)")
    print(f"   {'path':40} {'wall us':>8} {'cpu us':>8}   stock / this (wall, cpu)")
    for name, (wall, cpu) in timings.items():
        print(f"   {name:40} {wall:8.2f} {cpu:8.2f}   {stock_wall / wall:5.1f}x {stock_cpu / cpu:5.1f}x")
    wall, cpu = timings["engine player, fast path"]
    verdict = "met" if cpu <= 5 else "NOT met"
    print(f"   target: engine player <= 5 us: {verdict} ({cpu:.2f} us cpu, {wall:.2f} us wall)")

    rounds = 50 if args.quick else 200
    play_rate, play_us, start_us, python_us, on_demand_us = bench_play(IPD_FIELD, rounds, repeats)
    print(f"\n2. tournament throughput (medians of {repeats} passes / {runs} runs)")
    print(f"   worker-side play only, ipd, 8 classic strategies, {rounds} rounds, nothing persisted:")
    print(f"      {play_rate:8.0f} rounds per cpu s = {play_us:.2f} us of cpu per round, of which")
    per_round = start_us / rounds
    print(f"      starting and closing both players: {start_us:.0f} us per match ({per_round:.2f} us/round)")
    if python_us is None:
        print("      (clean rounds in Python: the C match loop is unavailable or TOURNAMENT_NATIVE=0)")
    else:
        label = "side by side, clean rounds in Python (TOURNAMENT_NATIVE=0)"
        print(f"      {label}: {python_us:.2f} us of cpu per round ({python_us / play_us:.2f}x)")
    if on_demand_us is None:
        print("      (the pooling allocator is off: TOURNAMENT_POOLING=0 or a memory limit)")
    else:
        label = "side by side, wasmtime's default allocator (TOURNAMENT_POOLING=0)"
        print(f"      {label}: {on_demand_us:.2f} us of cpu per round ({on_demand_us / play_us:.2f}x)")
    print("   every round persisted to SQLite:")
    with contextlib.redirect_stdout(io.StringIO()):
        bench_tournament("ipd", IPD_FIELD, rounds, 1)  # warm-up: imports, artifact cache
    axelrod_runs: list[dict[str, Any]] = []
    axelrod_error = _axelrod(runs, rounds, axelrod_runs)  # before ours, and again after: see below
    ours, ours_warm = {}, {}
    print(f"   {'':58} {'per wall s':>10} {'per cpu s':>10}")
    for workers in sorted({1, cores}):
        (rate, cpu_rate), (warm_rate, warm_cpu_rate), forked_rate = bench_tournament_cold_warm(
            "ipd", IPD_FIELD, rounds, workers, runs
        )
        ours[workers], ours_warm[workers] = rate, warm_rate
        cpu_text = f"{cpu_rate:10.0f}" if workers == 1 else f"{'-':>10}"
        label = f"ipd, 8 classic strategies, {rounds} rounds, {workers} worker(s), rounds/s"
        print(f"   {label:58} {rate:10.0f} {cpu_text}")
        warm_cpu_text = f"{warm_cpu_rate:10.0f}" if workers == 1 else f"{'-':>10}"
        label = f"  the same, warm ({workers} worker(s), pool kept across runs)"
        print(f"   {label:58} {warm_rate:10.0f} {warm_cpu_text}")
        per_run = len(IPD_FIELD) * (len(IPD_FIELD) - 1) // 2 * rounds * 1e3
        print(
            f"     per run: cold {per_run / rate:5.1f} ms, warm {per_run / warm_rate:5.1f} ms "
            f"(warm / cold {warm_rate / rate:4.2f}x, alternating)"
        )
        if forked_rate is not None:
            print(
                f"     cold, every worker forked (TOURNAMENT_STAND_IN=0): {per_run / forked_rate:5.1f} ms "
                f"a run (cold / that {rate / forked_rate:4.2f}x, alternating)"
            )
        if workers == 1:
            ours_cpu = cpu_rate
    if axelrod_error is None:
        axelrod_error = _axelrod(runs, rounds, axelrod_runs)
    if axelrod_error is not None:
        print(f"   Axelrod column skipped: {axelrod_error}")
    else:
        version = axelrod_runs[0]["version"]
        for when, axelrod in zip(("before ours", "after ours"), axelrod_runs, strict=True):
            for name, rate in axelrod["rates"].items():
                label = f"axelrod {version}, same field, in-process, {name}, {when}, turns/s"
                print(f"   {label:58} {rate:10.0f} {axelrod['cpu_rates'][name]:10.0f}")
        baseline = statistics.mean(axelrod["rates"]["play"] for axelrod in axelrod_runs)
        baseline_cpu = statistics.mean(axelrod["cpu_rates"]["play"] for axelrod in axelrod_runs)
        label = "axelrod play, mean of before and after ours, turns/s"
        print(f"   {label:58} {baseline:10.0f} {baseline_cpu:10.0f}")
        for workers, rate in ours.items():
            print(f"   ours ({workers} worker(s)) / axelrod play, wall: {rate / baseline:5.2f}x")
        for workers, rate in ours_warm.items():
            print(f"   ours warm ({workers} worker(s)) / axelrod play, wall: {rate / baseline:5.2f}x")
        print(f"   ours (1 worker) / axelrod play, cpu:  {ours_cpu / baseline_cpu:5.2f}x")
        print(f"   worker-side play only / axelrod play, cpu: {play_rate / baseline_cpu:5.2f}x")
        best = max(ours.values())
        print(f"   target: ours >= axelrod play (wall): {'met' if best >= baseline else 'NOT met'}")
        best_warm = max(ours_warm.values())
        verdict = "met" if best_warm >= baseline else "NOT met"
        print(f"   target, warm (a long-lived host): ours >= axelrod play (wall): {verdict}")
    if not args.quick:
        for workers in sorted({1, cores}):
            rate, _ = bench_tournament("rps", RPS_C_FIELD, 1000, workers)
            print(f"   rps, 12 C strategies, 1000 rounds, {workers} worker(s):     {rate:10.0f} rounds/s")


if __name__ == "__main__":
    main()
