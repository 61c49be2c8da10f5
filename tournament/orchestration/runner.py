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
from typing import Generic, TypeVar

import anyio
from anyio.abc import TaskGroup

from tournament.orchestration.executors.base import MatchExecutor, StreamingExecutor, WorkerLostError
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
                raise MatchFailedError(_lost_twice(error)) from error
    raise AssertionError("unreachable")


def _lost_twice(error: WorkerLostError) -> str:
    return f"worker process died {_times(ATTEMPTS)} while playing this match ({error})"


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
    caller's recorder drains its queue before the run ends). A streaming executor (local worker
    processes) takes the jobs from a `_ChainFeed`, which keeps the same rules without a task per chain.
    """
    if isinstance(executor, StreamingExecutor):
        async with anyio.create_task_group() as group:
            feed = _ChainFeed(chains, build_job, on_done, on_failed, should_stop, group)
            await executor.stream(feed)
        return
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


class _Token(Generic[T]):
    """One match of a chain, from the moment its job is built to the moment it is resolved."""

    __slots__ = ("attempts", "chain", "index", "job")

    def __init__(self, chain: Sequence[T], index: int, job: MatchJob) -> None:
        self.chain, self.index, self.job = chain, index, job
        self.attempts = 0
        """Attempts whose worker died while playing it."""


class _ChainFeed(Generic[T]):
    """`run_chains` for a streaming executor: the same rules (chains in order, a chain's next match built
    once the previous one is recorded, a match retried once if its worker died, nothing new once
    `should_stop`), kept as plain state that the executor's tasks consult between replies."""

    def __init__(
        self,
        chains: Sequence[Sequence[T]],
        build_job: Callable[[T], MatchJob],
        on_done: OnDone[T],
        on_failed: Callable[[T, str], None],
        should_stop: Callable[[], bool],
        group: TaskGroup,
    ) -> None:
        self._ready: collections.deque[tuple[Sequence[T], int]] = collections.deque(
            (chain, 0) for chain in chains if chain
        )
        self._retry: collections.deque[_Token[T]] = collections.deque()
        self._left = sum(map(len, chains))
        """Matches neither played nor given up on."""
        self._out = 0
        """Tokens taken and not yet resolved: in flight, being recorded, or waiting to be."""
        self._build_job, self._on_done, self._on_failed = build_job, on_done, on_failed
        self._should_stop, self._group = should_stop, group
        self._changed: anyio.Event | None = None
        """What the executor's idle tasks wait on (made when one waits: most changes have no waiter)."""

    def take(self, *, retries: bool = True) -> tuple[object, MatchJob] | None:
        if self._should_stop():
            return None
        if self._retry and retries:
            token = self._retry.popleft()
        elif self._ready:
            chain, index = self._ready.popleft()
            token = _Token(chain, index, self._build_job(chain[index]))
        else:
            return None
        self._out += 1
        return token, token.job

    def left(self) -> int:
        return 0 if self._should_stop() else self._left

    def exhausted(self) -> bool:
        return self._out == 0 and (not (self._ready or self._retry) or self._should_stop())

    async def changed(self) -> None:
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def done(self, token: object, played: MatchPlayed) -> None:
        assert isinstance(token, _Token)
        queued = self._on_done(token.chain[token.index], played)
        recorded = None if queued is None else await queued
        if recorded is not None and token.index < len(token.chain) - 1:
            self._group.start_soon(self._advance_once, token, recorded)
        else:
            self._advance(token)

    async def _advance_once(self, token: _Token[T], recorded: anyio.Event) -> None:
        await recorded.wait()
        self._advance(token)

    def _advance(self, token: _Token[T]) -> None:
        """The match is resolved: its chain's next match may start (first, as `run_chains` would)."""
        if token.index < len(token.chain) - 1:
            self._ready.appendleft((token.chain, token.index + 1))
        self._out -= 1
        self._left -= 1
        self._notify()

    def lost(self, token: object, error: WorkerLostError) -> None:
        assert isinstance(token, _Token)
        self._out -= 1
        token.attempts += 1
        if token.attempts < ATTEMPTS:
            self._retry.append(token)
        else:
            self._left -= len(token.chain) - token.index  # the chain's later matches are not started
            self._on_failed(token.chain[token.index], _lost_twice(error))
        self._notify()

    def unstarted(self, token: object) -> None:
        assert isinstance(token, _Token)
        self._out -= 1
        self._retry.appendleft(token)
        self._notify()
