"""Runs a tournament's matches on an executor, chain by chain, with anyio.

Matches of one pairing form a chain: a repetition starts only after the previous one is recorded,
because its players are told about the earlier meetings. Chains run concurrently up to the executor's
slots. Results never depend on scheduling: every match's seed and inputs derive from the tournament seed.

A match whose worker process dies is retried once (a kill can be environmental); if it dies again the
match fails, and the later matches of its chain are not started: they would be told a history without the
failed match and so differ from an uninterrupted run. They stay pending for a resume.
"""

from __future__ import annotations

import collections
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import anyio

from tournament.orchestration.executors.base import MatchExecutor, WorkerLostError
from tournament.orchestration.jobs import MatchJob
from tournament.orchestration.match import MatchPlayed

T = TypeVar("T")

ATTEMPTS = 2
"""Tries per match when its worker process dies: the first death may be the environment's fault."""


class MatchFailedError(RuntimeError):
    """A match could not be played because its worker died on every attempt."""


async def play_with_retry(executor: MatchExecutor, job: MatchJob) -> MatchPlayed:
    """Play a job, once more on a fresh worker if the first one died; MatchFailedError if both died."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await executor.play(job)
        except WorkerLostError as error:
            if attempt == ATTEMPTS:
                raise MatchFailedError(
                    f"worker process died {_times(ATTEMPTS)} while playing this match ({error})"
                ) from error
    raise AssertionError("unreachable")


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


CHAIN_TASKS_PER_SLOT = 2
"""Tasks taking chains in turn, per executor slot: more than the slots, so that a chain waiting for its
last match to be recorded does not leave a slot idle; not one per chain, which for a 100-strategy field
is 4,950 tasks to create before the first match starts and to keep while they wait."""

OnDone = Callable[[T, MatchPlayed], Awaitable[anyio.Event] | None]
"""Takes a played match: either handles it at once (returns None), or is a coroutine that queues it and
returns an event set once it is recorded (its queue's back-pressure holds the executor slot)."""


async def run_chains(
    chains: Sequence[Sequence[T]],
    *,
    executor: MatchExecutor,
    build_job: Callable[[T], MatchJob],
    on_done: OnDone[T],
    on_failed: Callable[[T, str], None],
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Play every chain in order within the chain; stop launching matches once `should_stop()` is true.

    Matches already in flight when `should_stop` turns true still finish and are passed to `on_done`.
    With a queueing `on_done`, a chain's next match is built only after the previous one is recorded
    (its players are told the earlier meetings), but the executor slot is free as soon as the result is
    queued, so workers never wait for the recording; a chain's last match is not waited for at all (the
    caller's recorder drains its queue before the run ends).
    """
    limiter = anyio.CapacityLimiter(max(1, executor.slots))
    pending = collections.deque(chains)

    async def run_chain(chain: Sequence[T]) -> None:
        last = len(chain) - 1
        for index, item in enumerate(chain):
            async with limiter:
                if should_stop():
                    return
                try:
                    played = await play_with_retry(executor, build_job(item))
                except MatchFailedError as error:
                    on_failed(item, str(error))
                    return
                queued = on_done(item, played)
                recorded = None if queued is None else await queued
            del played
            if recorded is not None and index < last:
                await recorded.wait()

    async def take_chains() -> None:
        while pending:
            await run_chain(pending.popleft())

    async with anyio.create_task_group() as group:
        for _ in range(min(len(pending), CHAIN_TASKS_PER_SLOT * max(1, executor.slots))):
            group.start_soon(take_chains)
