"""Start-up benchmark: `tournament --help`, and how soon a warm `tournament run` plays its first round.

1. `tournament --help` as users run it (the console script in a fresh process), against the bare
   interpreter start (`python -c pass`) measured in the same run; and which heavy modules it imported
   (none of sqlalchemy, wasmtime, fastapi should be).
2. `tournament run` over 20 rps strategies, 16 C and 4 componentize-py ones (the built-ins plus tagged
   copies, each a distinct component), in a fresh SQLite database and artifact cache (`TOURNAMENT_CACHE`).
   The first run is cold (it compiles every component, seconds per Python one); later runs are warm (every
   artifact cached); they alternate between the default worker processes and `--workers 1` (played in
   the command's own process), which shows what starting a worker costs. With `--rounds 1` a match is
   one round, so the first finished match in the database (polled every 2 ms by this process) marks the
   first round played and recorded. The announcement line
   ("tournament N: ...", printed once the tournament is planned) splits that time into command start-up
   plus planning, and preparing components plus starting workers plus playing. The artifact directory is
   compared before and after the warm runs: nothing may be compiled again.

Run: `.venv/bin/python -m benchmarks.bench_startup [--quick] [--runs N]` after `make setup` (the cold
run takes about a minute: it compiles the four Python components).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.fields import open_bench_database, rps_field

TOURNAMENT = Path(sys.executable).with_name("tournament")
HEAVY_MODULES = ("sqlalchemy", "wasmtime", "fastapi", "alembic", "anyio", "starlette", "jinja2", "openskill")
HELP_PROBE = """
import sys
sys.argv = ["tournament", "--help"]
from tournament.cli.app import main
try:
    main()
except SystemExit:
    pass
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[1:] or %r))
print(",".join(heavy), file=sys.stderr)
"""


def _median_seconds(command: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def heavy_modules_after_help() -> list[str]:
    """The heavy top-level packages that `tournament --help` imports (should be none)."""
    probe = HELP_PROBE % (HEAVY_MODULES,)
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=_env()
    )
    last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
    return [name for name in last.split(",") if name]


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "COLUMNS": "100", **extra}


@dataclass(frozen=True, slots=True)
class RunTiming:
    announced: float
    """Seconds from exec to the "tournament N: ..." line (start-up, database, planning)."""
    first_round: float
    """Seconds from exec to the first finished match (one round each) in the database."""
    total: float


def _last_tournament(db_file: Path) -> int:
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as connection:
        return int(connection.execute("SELECT coalesce(max(id), 0) FROM tournaments").fetchone()[0])


def timed_run(db_file: Path, names: list[str], cache: Path, workers: int | None) -> RunTiming:
    """Run `tournament run --rounds 1` in a fresh process and time its milestones."""
    after = _last_tournament(db_file)
    command = [
        str(TOURNAMENT), "run", "--db", f"sqlite:///{db_file}", "--game", "rps", "--rounds", "1",
        "--seed", "1", "--strategies", ",".join(names), "--json",
    ]  # fmt: skip
    if workers is not None:
        command += ["--workers", str(workers)]
    announced: list[float] = []
    reader = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, check_same_thread=False)
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(TOURNAMENT_CACHE=str(cache)),
    )

    def watch_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            if line.startswith("tournament ") and not announced:
                announced.append(time.perf_counter() - start)

    watcher = threading.Thread(target=watch_stderr, daemon=True)
    watcher.start()
    first_round: float | None = None
    try:
        while first_round is None and process.poll() is None:
            row = reader.execute(
                "SELECT 1 FROM matches WHERE tournament_id > ? AND status = 'finished' LIMIT 1", (after,)
            ).fetchone()
            if row is not None:
                first_round = time.perf_counter() - start
            else:
                time.sleep(0.002)
        returncode = process.wait()
        total = time.perf_counter() - start
    finally:
        reader.close()
    watcher.join()
    if returncode != 0:
        raise SystemExit(f"tournament run exited {returncode}: {' '.join(command)}")
    return RunTiming(announced[0] if announced else float("nan"), first_round or total, total)


def _artifacts(cache: Path) -> dict[str, float]:
    return {str(path): path.stat().st_mtime for path in cache.rglob("*.cwasm")}


def bench_run(c_strategies: int, python_strategies: int, runs: int) -> None:
    """Cold run, then warm runs alternating the default worker processes with `--workers 1` (in-process
    play, no worker to start), so the cost of starting a worker shows side by side."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        db = open_bench_database(directory)
        try:
            names = rps_field(db, c_strategies, python_strategies)
        finally:
            db.close()
        db_file, cache = directory / "bench.db", directory / "artifacts"
        print(
            f"\n2. tournament run --rounds 1, {len(names)} rps strategies ({c_strategies} C, "
            f"{python_strategies} componentize-py)"
        )
        print("   seconds from exec to:                 announced  first round    exit")
        cold = timed_run(db_file, names, cache, None)
        _print_run("cold, default workers (compiles all)", cold)
        before = _artifacts(cache)
        warm: dict[int | None, list[RunTiming]] = {None: [], 1: []}
        for index in range(1, runs + 1):
            for workers, timings in warm.items():
                timing = timed_run(db_file, names, cache, workers)
                timings.append(timing)
                _print_run(f"warm {index}, {'default workers' if workers is None else '--workers 1'}", timing)
        after = _artifacts(cache)
        recompiled = sum(1 for path, mtime in after.items() if before.get(path) != mtime)
        median = statistics.median(t.first_round for t in warm[None])
        in_process = statistics.median(t.first_round for t in warm[1])
        print(
            f"   warm median to first round: {median:.3f} s with worker processes (target < 1 s), "
            f"{in_process:.3f} s with --workers 1"
        )
        print(
            f"   cold / warm = {cold.first_round / median:.0f}x; artifacts: {len(after)} cached, "
            f"{recompiled} rewritten by the warm runs"
        )


def _print_run(label: str, timing: RunTiming) -> None:
    print(f"   {label:37} {timing.announced:8.3f}  {timing.first_round:10.3f}  {timing.total:7.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="warm runs and --help runs (default 5)")
    parser.add_argument(
        "--quick", action="store_true", help="one componentize-py strategy (cold run ~15 s), 2 warm runs"
    )
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    bare = _median_seconds([sys.executable, "-c", "pass"], runs * 2)
    help_seconds = _median_seconds([str(TOURNAMENT), "--help"], runs * 2)
    heavy = heavy_modules_after_help()
    print(f"\n1. tournament --help (median of {runs * 2} fresh processes)")
    print(f"   python -c pass        {bare * 1e3:7.1f} ms")
    print(
        f"   tournament --help     {help_seconds * 1e3:7.1f} ms   (target < 300 ms; "
        f"help / bare = {help_seconds / bare:.1f}x)"
    )
    print(f"   heavy modules imported by --help: {', '.join(heavy) or 'none'}")
    python_strategies = 1 if args.quick else 4
    bench_run(20 - python_strategies, python_strategies, runs)


if __name__ == "__main__":
    main()
