"""Worker-side job functions for tests: one that aborts its worker process on chosen matches, like a
wasmtime abort, and one that plays only once a gate file exists, like a worker slow to start.

Which matches abort is read from marker files in the folder named by $TOURNAMENT_TEST_FAULTS (workers
inherit the environment): ``abort-<match id>`` aborts on every attempt, ``abort-once-<match id>`` on the
first attempt only (the file is removed before aborting).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tournament.orchestration.jobs import MatchJob, execute_in_worker
from tournament.orchestration.match import MatchPlayed

FAULTS_ENV = "TOURNAMENT_TEST_FAULTS"
GATE_ENV = "TOURNAMENT_TEST_GATE"


def play_or_abort(job: MatchJob) -> MatchPlayed:
    folder = Path(os.environ[FAULTS_ENV])
    if (folder / f"abort-{job.match_id}").exists():
        os.abort()
    once = folder / f"abort-once-{job.match_id}"
    if once.exists():
        once.unlink()
        os.abort()
    return execute_in_worker(job)


def threads_then_play(job: MatchJob) -> tuple[list[str], MatchPlayed]:
    """The names of the worker's threads when the job arrived, then the job played as usual."""
    import threading

    names = [thread.name for thread in threading.enumerate()]
    return names, execute_in_worker(job)


def wait_for_gate_then_play(job: MatchJob) -> MatchPlayed:
    """A worker slow to start: no job is played until the file named by $TOURNAMENT_TEST_GATE exists."""
    gate = Path(os.environ[GATE_ENV])
    while not gate.exists():
        time.sleep(0.002)
    return execute_in_worker(job)
