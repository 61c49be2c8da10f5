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

from wasmtime.component import Record

from tournament.rules.records import RoundRecord
from tournament.sandbox import contract
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


def bench_call_overhead(calls: int, repeats: int) -> tuple[float, float]:
    """Median microseconds per next-move call: (stock Func.__call__, engine player)."""
    data = (BUILD / "constant.wasm").read_bytes()
    limits = SandboxLimits()
    with SandboxRuntime(limits.stack_bytes) as runtime:
        runtime.prepare(data)
        from tournament.sandbox.artifacts import content_hash

        digest = content_hash(data)
        setup = PlayerSetup("rps", ("rock", "paper", "scissors"), 1000, 1, 2)
        player = WasmPlayer(runtime.engine, runtime.component(digest), setup, limits, runtime.ticker)
        if player.start() is not None:
            raise SystemExit("constant.wasm failed to start")
        store, func = player._store, player._next_move  # the same instance for both paths
        assert store is not None and func is not None
        last = RoundRecord(0, 1, 2, -1, 1)
        record = Record()
        for name, value in (("my-move", 1), ("their-move", 2), ("my-payoff", -1), ("their-payoff", 1)):
            setattr(record, name, value)

        def stock() -> None:
            for _ in range(calls):
                store.set_fuel(limits.fuel_per_move)
                func(store, record)

        def engine() -> None:
            for _ in range(calls):
                player.next_move(last)
                player._seen.clear()

        stock_us = _median_us(stock, calls, repeats)
        engine_us = _median_us(engine, calls, repeats)
    return stock_us, engine_us


def bench_tournament(game: str, strategies: list[str], rounds: int, workers: int) -> float:
    """Rounds per second for a full round robin persisted to a fresh SQLite database."""
    from tournament.persistence.database import open_database
    from tournament.services.tournaments import TournamentRequest, create_tournament, run_tournament

    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{tmp}/bench.db", builtins_manifest=BUILD / "manifest.json")
        try:
            tid = create_tournament(db, TournamentRequest(game=game, rounds=rounds, seed=1, strategies=strategies))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer calls and repeats (a smoke run)")
    args = parser.parse_args()
    calls, repeats = (2_000, 3) if args.quick else (20_000, 5)
    cores = os.cpu_count() or 1
    print(f"machine: {cores} cores, Python {sys.version.split()[0]}")

    stock, engine = bench_call_overhead(calls, repeats)
    print("\n1. host overhead per next-move call (median of {} x {} calls)".format(repeats, calls))
    print(f"   stock Func.__call__          {stock:8.2f} us")
    print(f"   engine WasmPlayer.next_move  {engine:8.2f} us   (engine / stock = {engine / stock:.2f})")

    print("\n2. tournament throughput, every round persisted to SQLite")
    rounds = 50 if args.quick else 200
    for workers in sorted({1, cores}):
        rate = bench_tournament("ipd", IPD_FIELD, rounds, workers)
        print(f"   ipd, 8 classic strategies, {rounds} rounds, {workers} worker(s): {rate:10.0f} rounds/s")


if __name__ == "__main__":
    main()
