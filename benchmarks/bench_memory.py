"""Memory benchmark: peak resident memory of the coordinator and of each worker, 20 versus 100 strategies.

Each field runs in its own fresh process (so peaks do not mix): an rps round robin of C strategies (the
built-ins plus tagged copies, each a distinct component), every round persisted to SQLite, with local
worker processes. 100 strategies are 4,950 matches against 190 for 20: if anything kept the rounds of
finished matches (or grew per match), the 100-strategy peaks would be far higher and the resident set
would climb from the first checkpoint to the last. Checkpoints read VmRSS of the coordinator and its
workers after 10%, 50% and 100% of the matches; peaks are VmHWM (reset for the coordinator
when its run starts, so setting up the field does not count; workers sampled every 50 ms).

Run: `.venv/bin/python -m benchmarks.bench_memory [--quick] [--rounds N] [--workers N]` after `make setup`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.fields import ChildSampler, open_bench_database, peak_rss_mib, reset_peak, rps_field, rss_mib
from tournament.services.tournaments import TournamentRequest, create_tournament, run_tournament

FIELDS = (20, 100)
CHECKPOINTS = (0.1, 0.5, 1.0)


def measure(strategies: int, rounds: int, workers: int) -> dict[str, Any]:
    """Run one round robin in this process and return its memory readings (MiB)."""
    pid = os.getpid()
    with tempfile.TemporaryDirectory() as tmp:
        db = open_bench_database(Path(tmp))
        try:
            names = rps_field(db, strategies)
            tournament_id = create_tournament(
                db, TournamentRequest(game="rps", rounds=rounds, seed=1, strategies=names)
            )
            matches = len(names) * (len(names) - 1) // 2
            marks = {max(1, round(matches * fraction)) for fraction in CHECKPOINTS}
            checkpoints: list[dict[str, Any]] = []
            done = 0
            before = rss_mib(pid)
            if not reset_peak(pid):
                raise SystemExit("cannot reset the peak RSS (/proc/self/clear_refs); Linux only")
            with ChildSampler(pid) as sampler:

                def on_match(*_: object) -> None:
                    nonlocal done
                    done += 1
                    if done in marks:
                        workers_now = sampler.workers.current(pid)
                        checkpoints.append(
                            {"matches": done, "coordinator": rss_mib(pid), "workers": workers_now}
                        )

                start = time.perf_counter()
                run_tournament(
                    db, tournament_id, workers=workers, on_match=on_match, cache_dir=Path(tmp) / "c"
                )
                seconds = time.perf_counter() - start
                sampler.workers.sample(pid)
            return {
                "strategies": strategies,
                "matches": matches,
                "rounds": matches * rounds,
                "seconds": seconds,
                "coordinator_before": before,
                "coordinator_peak": peak_rss_mib(pid),
                "worker_peaks": sorted(sampler.workers.peaks.values()),
                "checkpoints": checkpoints,
            }
        finally:
            db.close()


def _run_child(strategies: int, rounds: int, workers: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.bench_memory", "--child", str(strategies)]
    command += ["--rounds", str(rounds), "--workers", str(workers)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    reading: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return reading


def _mib(values: list[float]) -> str:
    return ", ".join(f"{value:.0f}" for value in values) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=200, help="rounds per match (default 200)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--quick", action="store_true", help="20 rounds per match (a smoke run)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    rounds = 20 if args.quick else args.rounds
    if args.child is not None:
        print(json.dumps(measure(args.child, rounds, args.workers)))
        return
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}")
    print(f"rps round robins of C strategies, {rounds} rounds per match, {args.workers} workers, SQLite")
    readings = [_run_child(strategies, rounds, args.workers) for strategies in FIELDS]
    for reading in readings:
        print(
            f"\n{reading['strategies']} strategies: {reading['matches']} matches, {reading['rounds']} rounds "
            f"in {reading['seconds']:.1f} s"
        )
        print(
            f"   peak RSS: coordinator {reading['coordinator_peak']:.0f} MiB (before the run "
            f"{reading['coordinator_before']:.0f}), workers {_mib(reading['worker_peaks'])} MiB"
        )
        for point in reading["checkpoints"]:
            print(
                f"   after {point['matches']:5d} matches: coordinator {point['coordinator']:.0f} MiB, "
                f"workers {_mib(point['workers'])} MiB"
            )
    small, large = readings
    coordinator = large["coordinator_peak"] / small["coordinator_peak"]
    worker = max(large["worker_peaks"], default=0.0) / max(max(small["worker_peaks"], default=1.0), 1.0)
    print(
        f"\n{large['strategies']} vs {small['strategies']} strategies "
        f"({large['matches'] / small['matches']:.0f}x the matches): coordinator peak {coordinator:.2f}x, "
        f"largest worker peak {worker:.2f}x"
    )


if __name__ == "__main__":
    main()
