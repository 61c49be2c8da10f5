"""Engine benchmarks, measured side by side in one run (these machines are noisy: compare ratios).

1. Host overhead per move call: wasmtime-py's stock `Func.__call__` versus the engine's player call
   (which also sets fuel and the epoch deadline), on a trivial component.
2. Tournament throughput: a full round robin, every round persisted to SQLite, in rounds per second,
   with 1 worker and with one worker per core.

Run: `.venv/bin/python benchmarks/bench_engine.py [--quick]` after `make setup`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tournament.rules.records import RoundRecord
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.fastcall import NextMoveCall, StockNextMoveCall, round_record
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.player import PlayerSetup, WasmPlayer
from tournament.sandbox.runtime import SandboxRuntime

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "strategies" / "build"


def _median_us(run: Callable[[], None], calls: int, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(samples)


def bench_call_overhead(calls: int, repeats: int) -> dict[str, float]:
    """Median microseconds per next-move call through each path, on the same trivial component."""
    data = (BUILD / "constant.wasm").read_bytes()
    limits = SandboxLimits()
    last = RoundRecord(0, 1, 2, -1, 1)
    record = round_record((1, 2, -1, 1))
    results: dict[str, float] = {}
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

        fast_player = started(fast=True)
        fast_call = fast_player._call
        assert isinstance(fast_call, NextMoveCall)
        key = (1, 2, -1, 1)

        def fast_only() -> None:
            for _ in range(calls):
                fast_call(key, limits.fuel_per_move, 100)

        results["stock Func.__call__ (+ fuel, deadline)"] = _median_us(stock, calls, repeats)
        results["engine fast call (NextMoveCall)"] = _median_us(fast_only, calls, repeats)
        results["engine player, stock path"] = _median_us(player_loop(stock_player), calls, repeats)
        results["engine player, fast path"] = _median_us(player_loop(fast_player), calls, repeats)
    return results


def bench_tournament(game: str, strategies: list[str], rounds: int, workers: int) -> float:
    """Rounds per second for a full round robin persisted to a fresh SQLite database."""
    from tournament.persistence.database import open_database
    from tournament.services.tournaments import TournamentRequest, create_tournament, run_tournament

    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{tmp}/bench.db", builtins_manifest=BUILD / "manifest.json")
        try:
            tid = create_tournament(
                db, TournamentRequest(game=game, rounds=rounds, seed=1, strategies=strategies)
            )
            n = len(strategies)
            start = time.perf_counter()
            run_tournament(db, tid, workers=workers)
            elapsed = time.perf_counter() - start
        finally:
            db.close()
    return n * (n - 1) // 2 * rounds / elapsed


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
    calls, repeats = (2_000, 3) if args.quick else (20_000, 5)
    cores = os.cpu_count() or 1
    print(f"machine: {cores} cores, Python {sys.version.split()[0]}")

    timings = bench_call_overhead(calls, repeats)
    stock = timings["stock Func.__call__ (+ fuel, deadline)"]
    print(f"\n1. host overhead per next-move call, trivial component (median of {repeats} x {calls} calls)")
    for name, micros in timings.items():
        print(f"   {name:40} {micros:8.2f} us   stock / this = {stock / micros:5.1f}x")

    print("\n2. tournament throughput, every round persisted to SQLite")
    rounds = 50 if args.quick else 200
    for workers in sorted({1, cores}):
        rate = bench_tournament("ipd", IPD_FIELD, rounds, workers)
        print(f"   ipd, 8 classic strategies, {rounds} rounds, {workers} worker(s): {rate:10.0f} rounds/s")
    if not args.quick:
        for workers in sorted({1, cores}):
            rate = bench_tournament("rps", RPS_C_FIELD, 1000, workers)
            print(f"   rps, 12 C strategies, 1000 rounds, {workers} worker(s):     {rate:10.0f} rounds/s")


if __name__ == "__main__":
    main()
