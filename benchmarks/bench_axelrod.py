"""The Axelrod library's in-process rate for the engine's eight classic IPD strategies (the baseline).

Axelrod 4.13 (with pyarrow, which its results need) lives in its own venv so it never touches the
project's dependencies: `ensure_venv()` creates `~/.cache/tournament/bench-axelrod` on first use (pip from
the configured index), and `measure()` runs this file there in a subprocess, which prints JSON.

Two figures, both one process, `turns=200, repetitions=1`, the median of several runs, each per
wall-clock second and per CPU second of the process:
- *play*: `Tournament.play(build_results=False)`: the matches only, nothing persisted;
- *play + results*: `Tournament.play()`: also writes the interactions to a temporary file and builds the
  `ResultSet` (Axelrod's default).
Axelrod's round robin includes each strategy against itself (36 matches for 8 strategies); the rates are
per turn, so they compare with the engine's per-round rates.

Run alone: `.venv/bin/python benchmarks/bench_axelrod.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

VENV = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tournament" / "bench-axelrod"
REQUIREMENTS = ("axelrod>=4.13,<4.14", "pyarrow")
AXELROD_FIELD = (
    "Alternator", "Cooperator", "Defector", "Grudger", "SuspiciousTitForTat", "TitForTat", "TitFor2Tats",
    "WinStayLoseShift",
)  # fmt: skip
"""Axelrod's classes for the engine's `alternator`, `cooperator`, ..., `win-stay-lose-shift`."""


class AxelrodUnavailableError(RuntimeError):
    """The benchmark venv could not be created or Axelrod could not be installed."""


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path = VENV) -> Path:
    """The venv's python, creating the venv and installing Axelrod when it is missing."""
    python = _python(venv)
    check = [str(python), "-c", "import axelrod, pyarrow"]
    if python.exists() and subprocess.run(check, check=False, capture_output=True).returncode == 0:
        return python
    base = "python3.11" if sys.version_info[:2] != (3, 11) else sys.executable
    steps = [
        [base, "-m", "venv", "--clear", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS],
    ]
    for step in steps:
        try:
            done = subprocess.run(step, check=False, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise AxelrodUnavailableError(f"{' '.join(step[:3])}: {error}") from None
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip() and "WARNING" not in line]
            raise AxelrodUnavailableError(f"{' '.join(step[:3])} failed: {(lines or ['?'])[-1]}")
    return python


def measure(runs: int, turns: int = 200, venv: Path = VENV) -> dict[str, Any]:
    """Axelrod's rates, measured in a subprocess in the benchmark venv; AxelrodUnavailableError if none."""
    python = ensure_venv(venv)
    command = [
        str(python),
        str(Path(__file__).resolve()),
        "--inside",
        "--runs",
        str(runs),
        "--turns",
        str(turns),
    ]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise AxelrodUnavailableError(f"the Axelrod run failed: {done.stderr.strip().splitlines()[-1:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _inside(runs: int, turns: int) -> dict[str, Any]:
    """Runs in the benchmark venv: time Axelrod's own tournament on the field."""
    import axelrod  # type: ignore[import-not-found]  # only installed in the benchmark venv

    warnings.simplefilter("ignore")
    players = [getattr(axelrod, name)() for name in AXELROD_FIELD]
    rates: dict[str, list[float]] = {"play": [], "play + results": []}
    cpu_rates: dict[str, list[float]] = {"play": [], "play + results": []}
    matches = 0
    for _ in range(runs):
        for label, build in (("play", False), ("play + results", True)):
            tournament = axelrod.Tournament(players, turns=turns, repetitions=1, seed=1)
            matches = sum(1 for _ in tournament.match_generator.build_match_chunks())
            start, start_cpu = time.perf_counter(), time.process_time()
            tournament.play(progress_bar=False, build_results=build)  # no `processes`: serial, in-process
            elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
            rates[label].append(matches * turns / elapsed)
            cpu_rates[label].append(matches * turns / cpu)
    return {
        "version": axelrod.__version__,
        "python": sys.version.split()[0],
        "matches": matches,
        "turns": turns,
        "runs": runs,
        "rates": {label: statistics.median(values) for label, values in rates.items()},
        "cpu_rates": {label: statistics.median(values) for label, values in cpu_rates.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        print(json.dumps(_inside(args.runs, args.turns)))
        return
    try:
        result = measure(args.runs, args.turns)
    except AxelrodUnavailableError as error:
        print(f"Axelrod skipped: {error}")
        return
    matches = result["matches"]
    print(f"axelrod {result['version']} (Python {result['python']}), {matches} matches x {args.turns} turns")
    for label, rate in result["rates"].items():
        print(f"   {label:16} {rate:10.0f} turns/s ({result['cpu_rates'][label]:.0f} per CPU second)")


if __name__ == "__main__":
    main()
