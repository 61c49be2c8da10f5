"""Runs a tournament's matches on worker processes (or in-process) with anyio.

Matches of one pairing form a chain: a repetition starts only after the previous one is recorded,
because its players are told about the earlier meetings. Chains run concurrently up to `workers`.
Results never depend on scheduling: every match's seed and inputs derive from the tournament seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import anyio
import anyio.to_process
import anyio.to_thread

from tournament.orchestration.jobs import MatchJob, execute, execute_in_worker
from tournament.orchestration.match import MatchPlayed
from tournament.sandbox.runtime import SandboxRuntime

T = TypeVar("T")


async def run_chains(
    chains: Sequence[Sequence[T]],
    *,
    workers: int,
    build_job: Callable[[T], MatchJob],
    on_done: Callable[[T, MatchPlayed], None],
    runtime: SandboxRuntime,
) -> None:
    """Play every chain in order within the chain; `workers == 1` plays in this process with `runtime`."""
    limiter = anyio.CapacityLimiter(max(1, workers))

    async def play(job: MatchJob) -> MatchPlayed:
        if workers <= 1:
            return await anyio.to_thread.run_sync(execute, job, runtime, limiter=limiter)
        return await anyio.to_process.run_sync(execute_in_worker, job, limiter=limiter)

    async def run_chain(chain: Sequence[T]) -> None:
        for item in chain:
            played = await play(build_job(item))
            on_done(item, played)

    async with anyio.create_task_group() as group:
        for chain in chains:
            group.start_soon(run_chain, chain)
