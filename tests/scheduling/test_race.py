"""Two schedulers on one database tick the same due slot at the same moment: one tournament per slot.

Threads (each with its own engine) and real processes, on a SQLite file and on PostgreSQL. A barrier
lines the contenders up before every slot, so each slot is really contended.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from datetime import datetime, timedelta
from multiprocessing.synchronize import Barrier as ProcessBarrier
from typing import Any

from tournament.persistence import Database, open_database
from tournament.services.schedules import Template, add_schedule, fire_due

from .conftest import START, scheduled

SLOTS = 6
CONTENDERS = 2
TEMPLATE = Template(game="rps", rounds=5, strategies=("constant", "rotate"), workers=1)


def _slot(index: int) -> datetime:
    return START.replace(minute=0) + timedelta(minutes=index + 1)


def _contend(url: str, barrier: threading.Barrier | ProcessBarrier) -> tuple[list[int], list[str]]:
    """Fire every slot as soon as all contenders are ready; returns the tournaments this one created and
    its log lines."""
    db = open_database(url, migrate=False)
    created: list[int] = []
    lines: list[str] = []
    try:
        for index in range(SLOTS):
            barrier.wait(timeout=60)
            fired = fire_due(db, _slot(index), lines.append)
            created += [f.tournament_id for f in fired if f.tournament_id is not None]
    finally:
        db.close()
    return created, lines


def _contend_in_process(url: str, barrier: ProcessBarrier, results: Any) -> None:
    results.put(_contend(url, barrier))


def _check(registry: Database, results: list[tuple[list[int], list[str]]]) -> None:
    """One tournament per slot; the losers of each compare-and-set never even tried to create one (the
    unique constraint, the second line of defence, was not needed)."""
    created = [ids for ids, _ in results]
    lines = [line for _, per_contender in results for line in per_contender]
    assert len(lines) == SLOTS
    assert all(line.startswith("fired every-minute") for line in lines)
    rows = scheduled(registry)
    assert [slot for _, _, slot, _ in rows] == [_slot(index) for index in range(SLOTS)]
    assert sorted(t for per_contender in created for t in per_contender) == [t for t, _, _, _ in rows]
    assert not Counter(t for per_contender in created for t in per_contender) - Counter(t for t, *_ in rows)


def _schedule(registry: Database) -> None:
    add_schedule(
        registry,
        "every-minute",
        cron="* * * * *",
        timezone="UTC",
        template=TEMPLATE,
        now=START.replace(minute=0),
    )


def test_two_scheduler_threads_create_one_tournament_per_slot(registry: Database) -> None:
    _schedule(registry)
    barrier = threading.Barrier(CONTENDERS)
    results: list[tuple[list[int], list[str]]] = [([], []) for _ in range(CONTENDERS)]

    def contender(index: int) -> None:
        results[index] = _contend(registry.url, barrier)

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(CONTENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    _check(registry, results)


def test_two_scheduler_processes_create_one_tournament_per_slot(registry: Database) -> None:
    _schedule(registry)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(CONTENDERS)
    queue = context.Queue()
    processes = [
        context.Process(target=_contend_in_process, args=(registry.url, barrier, queue))
        for _ in range(CONTENDERS)
    ]
    for process in processes:
        process.start()
    results = [queue.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    _check(registry, results)
