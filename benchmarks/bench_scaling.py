"""Scaling benchmark: rounds per second of a 16-strategy rps round robin with 1 worker and with 2.

Everything goes through the public service API (`create_tournament`, `run_tournament`) on one SQLite file,
every round persisted. Runs alternate between worker counts (1, 2, 1, 2, ...) so that drift on a noisy
machine hits both alike; the figure is the median over repeats of each repeat's 2-worker / 1-worker
ratio (the ratio of the two medians is printed too). CPU seconds of the coordinator (this
process) and of its worker processes show where the time goes: with 2 cores, every second the coordinator
spends recording and unpickling is a second the workers cannot play. The CPU seconds also give the ratio
two otherwise idle cores would allow, which a busy neighbour on a shared machine distorts less.

Every run is measured twice, alternating: cold (no worker pool: a fresh runtime or freshly forked workers,
what a one-shot `tournament run` pays) and warm (one `WorkerPool` kept across the timed runs after an
untimed run with it, as the scheduler daemon does: the previous run's runtime or worker processes).

Run: `.venv/bin/python -m benchmarks.bench_scaling [--quick] [--rounds N] [--repeats N]` after `make setup`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.fields import ChildSampler, open_bench_database, rps_field
from benchmarks.host import host_scaling
from tournament.orchestration.executors.local import worker_cpu_seconds
from tournament.orchestration.executors.pool import WorkerPool
from tournament.persistence.database import Database
from tournament.services.tournaments import TournamentRequest, create_tournament, run_tournament

FIELD_SIZE = 16


@dataclass(frozen=True, slots=True)
class Run:
    workers: int
    warm: bool
    seconds: float
    rounds: int
    coordinator_cpu: float
    workers_cpu: float
    worker_peak_mib: float

    @property
    def rate(self) -> float:
        return self.rounds / self.seconds


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _workers_cpu() -> float:
    """Worker processes are forked by a zygote (not this process's children): their CPU seconds come from
    the executor, which hears each one's from the zygote when it exits. A zygote started as a fresh
    interpreter (once per process) is a child of this one but outlives every run, so it never counts."""
    return _cpu(resource.RUSAGE_CHILDREN) + worker_cpu_seconds()


def _live_cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds so far of live processes (Linux `/proc`): pooled workers outlive the run, so their
    exit status, where `_workers_cpu` finds a worker's CPU, does not come after it."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def timed_run(
    db: Database, names: list[str], rounds: int, workers: int, cache: Path, pool: WorkerPool | None = None
) -> Run:
    """Create and run one round robin; wall time covers `run_tournament` only (worker start-up included,
    or with a `pool`, taking its warm workers)."""
    tournament_id = create_tournament(
        db, TournamentRequest(game="rps", rounds=rounds, seed=1, strategies=names)
    )
    self_cpu, children_cpu = _cpu(resource.RUSAGE_SELF), _workers_cpu()
    pooled = _live_cpu(pool.idle_worker_pids()) if pool is not None else {}
    with ChildSampler(os.getpid()) as sampler:
        start = time.perf_counter()
        run_tournament(db, tournament_id, workers=workers, cache_dir=cache, pool=pool)
        seconds = time.perf_counter() - start
    matches = len(names) * (len(names) - 1) // 2
    still_pooled = _live_cpu(pool.idle_worker_pids()) if pool is not None else {}
    workers_cpu = _workers_cpu() - children_cpu
    workers_cpu += sum(cpu - pooled.get(pid, 0.0) for pid, cpu in still_pooled.items())
    return Run(
        workers=workers,
        warm=pool is not None,
        seconds=seconds,
        rounds=matches * rounds,
        coordinator_cpu=_cpu(resource.RUSAGE_SELF) - self_cpu,
        workers_cpu=workers_cpu,
        worker_peak_mib=max(sampler.workers.peaks.values(), default=0.0),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=1000, help="rounds per match (default 1000)")
    parser.add_argument("--repeats", type=int, default=7, help="runs per worker count (default 7)")
    parser.add_argument("--quick", action="store_true", help="200 rounds, 1 repeat (a smoke run)")
    args = parser.parse_args()
    rounds, repeats = (200, 1) if args.quick else (args.rounds, args.repeats)
    cores = os.cpu_count() or 1
    print(f"machine: {cores} cores, Python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f}")
    matches = FIELD_SIZE * (FIELD_SIZE - 1) // 2
    print(
        f"rps round robin: {FIELD_SIZE} C strategies, {matches} matches x {rounds} rounds, SQLite, "
        "every round"
    )
    print(
        "persisted; wall time of run_tournament (worker start-up included); CPU seconds per process group\n"
    )
    with tempfile.TemporaryDirectory() as tmp, WorkerPool() as pool:
        db = open_bench_database(Path(tmp))
        cache = Path(tmp) / "artifacts"
        try:
            names = rps_field(db, FIELD_SIZE)
            timed_run(db, names, 1, 1, cache)  # compiles every component into the cache, untimed
            for workers in (1, 2):
                timed_run(db, names, 1, workers, cache, pool)  # warms the pool up, untimed
            runs: list[Run] = []
            ceilings: list[float] = []
            for repeat in range(repeats):
                ceilings.append(host_scaling())
                print(f"   run {repeat + 1}, the machine: 2 spinning processes / 1 = {ceilings[-1]:.2f}x")
                for workers in (1, 2):
                    for warm in (None, pool):
                        run = timed_run(db, names, rounds, workers, cache, warm)
                        runs.append(run)
                        print(
                            f"   run {repeat + 1}, {workers} worker(s){', warm' if run.warm else ''}: "
                            f"{run.rate:8.0f} rounds/s {run.seconds:6.2f} s  "
                            f"cpu: coordinator {run.coordinator_cpu:5.2f} s, workers {run.workers_cpu:5.2f} s"
                            f"  worker peak {run.worker_peak_mib:3.0f} MiB  load {os.getloadavg()[0]:4.1f}",
                            flush=True,
                        )
        finally:
            db.close()
    warm_medians = {w: statistics.median(r.rate for r in runs if r.workers == w and r.warm) for w in (1, 2)}
    warm_pairs = paired_ratio([r for r in runs if r.warm])
    runs = [r for r in runs if not r.warm]
    medians = {w: statistics.median(r.rate for r in runs if r.workers == w) for w in (1, 2)}
    print(f"\n   median, 1 worker:  {medians[1]:8.0f} rounds/s")
    print(
        f"   median, 2 workers: {medians[2]:8.0f} rounds/s   "
        f"2 workers / 1 worker = {medians[2] / medians[1]:.2f}x"
    )
    print(
        f"   median of the {repeats} side-by-side pairs' ratios (each 2-worker run over the 1-worker run "
        f"just before it): {paired_ratio(runs):.2f}x"
    )
    relative = statistics.median(r / c for r, c in zip(pair_ratios(runs), ceilings, strict=True))
    print(
        f"   the machine's own ceiling, median: {statistics.median(ceilings):.2f}x (pure CPU work, 2 "
        f"processes / 1, taken before each pair); ours / the ceiling, median per repeat: {relative:.2f}"
    )
    one = statistics.median(r.coordinator_cpu for r in runs if r.workers == 1)
    two = statistics.median(cpu_bound_seconds(r) for r in runs if r.workers == 2)
    print(
        f"   from CPU seconds alone (what two otherwise idle cores would allow): {one / two:.2f}x "
        f"(1 worker {one:.2f} s of CPU; 2 workers max(coordinator, all / 2) = {two:.2f} s)"
    )
    print(f"\n   warm (worker pool kept across runs), median, 1 worker:  {warm_medians[1]:8.0f} rounds/s")
    print(
        f"   warm (worker pool kept across runs), median, 2 workers: {warm_medians[2]:8.0f} rounds/s   "
        f"2 workers / 1 worker = {warm_medians[2] / warm_medians[1]:.2f}x"
    )
    print(f"   median of the {repeats} side-by-side pairs' ratios, warm: {warm_pairs:.2f}x")
    for workers in (1, 2):
        print(f"   warm / cold, {workers} worker(s): {warm_medians[workers] / medians[workers]:.2f}x")


def paired_ratio(runs: list[Run]) -> float:
    """The median over repeats of (2-worker rate / 1-worker rate) of the same repeat: the two runs of a
    pair are seconds apart, so a host that changes speed between repeats (these VMs swing 1.5x within
    minutes) moves both alike, where the ratio of two medians can pair a fast phase with a slow one."""
    return statistics.median(pair_ratios(runs))


def pair_ratios(runs: list[Run]) -> list[float]:
    """Each repeat's 2-worker rate over its 1-worker rate, in repeat order."""
    ones = [r.rate for r in runs if r.workers == 1]
    twos = [r.rate for r in runs if r.workers == 2]
    return [two / one for one, two in zip(ones, twos, strict=True)]


def cpu_bound_seconds(run: Run) -> float:
    """The wall time a run's CPU work needs on two free cores: the coordinator is one process, and all the
    work together cannot go faster than two cores."""
    return max(run.coordinator_cpu, (run.coordinator_cpu + run.workers_cpu) / 2)


if __name__ == "__main__":
    main()
