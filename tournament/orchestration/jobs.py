"""A match as a self-contained, picklable job, and its execution inside a worker process.

Workers receive content hashes, never compiled objects: each worker process loads components from the
shared artifact cache (compiled once by the coordinator) and keeps one sandbox runtime per engine setting.
A worker checks each component against the contract itself when it first loads it (a component that
fails forfeits, with the same reason as when the coordinator found it out): the coordinator does not
load components it does not play.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tournament.orchestration.match import ForfeitingPlayer, MatchPlayed, Player, play_match
from tournament.picklable import by_fields
from tournament.rules.forfeits import ForfeitReason
from tournament.rules.games import get_game
from tournament.rules.records import RoundRecord
from tournament.sandbox.engine import EngineSettings
from tournament.sandbox.errors import BadComponentError
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.player import PlayerSetup
from tournament.sandbox.runtime import SandboxRuntime


@by_fields
@dataclass(frozen=True, slots=True)
class Seat:
    """One side of a match: which component plays it and what that player is told."""

    strategy: str
    digest: str
    seed: int
    opponent: int
    history: tuple[RoundRecord, ...] = ()
    """Earlier meetings with this opponent, from this seat's side."""
    rejected: str | None = None
    """Why the component cannot play at all (it failed the contract check), if it cannot."""


@by_fields
@dataclass(frozen=True, slots=True)
class MatchJob:
    match_id: int
    game: str
    rounds: int
    seed: int
    noise: float
    hidden_rounds: bool
    limits: SandboxLimits
    a: Seat
    b: Seat
    cache_dir: str | None = None
    allow_wasi: bool = False
    """The organizer admits WASI components (no files or network; output captured; non-deterministic)."""
    record: Callable[[MatchPlayed], MatchPlayed] | None = None
    """Stores the played match where it was played and returns what the worker replies (a picklable
    callable from the layer that owns storage); None: the worker replies with the whole match."""


def execute(job: MatchJob, runtime: SandboxRuntime) -> MatchPlayed:
    """Play one match in this process with the given runtime."""
    game = get_game(job.game)
    players = [_player(job, seat, runtime, game.moves) for seat in (job.a, job.b)]
    return play_match(game, players[0], players[1], rounds=job.rounds, seed=job.seed, noise=job.noise)


def _player(job: MatchJob, seat: Seat, runtime: SandboxRuntime, moves: tuple[str, ...]) -> Player:
    if seat.rejected is not None:
        return ForfeitingPlayer(ForfeitReason.BAD_COMPONENT, seat.rejected)
    setup = PlayerSetup(
        game=job.game,
        moves=moves,
        rounds=None if job.hidden_rounds else job.rounds,
        seed=seat.seed,
        opponent=seat.opponent,
        history=seat.history,
    )
    try:
        runtime.prepare_cached(seat.digest, allow_wasi=job.allow_wasi)  # the contract check, once per process
        return runtime.player(seat.digest, setup, job.limits, allow_wasi=job.allow_wasi)
    except BadComponentError as error:
        return ForfeitingPlayer(ForfeitReason.BAD_COMPONENT, str(error))


_runtimes: dict[tuple[int, str | None], SandboxRuntime] = {}
"""This worker process's runtimes (one per engine setting); process-wide state, by necessity."""
_idle_tasks: list[Callable[[], None]] = []
"""What this worker process does the next time it waits for a job (see `worker_idle`)."""


def when_idle(task: Callable[[], None]) -> None:
    """Run `task` the next time this worker process waits for a job, not during the job: for work no
    match should wait for (closing a database it no longer writes to checkpoints it)."""
    if task not in _idle_tasks:
        _idle_tasks.append(task)


def worker_idle() -> None:
    """What a worker process does when its next job is late: the tasks left for then, and resting its
    runtimes' epoch tickers, which would wake it 100 times a second while a pooled worker waits for
    the next run (they start again with the next job)."""
    tasks = list(_idle_tasks)
    _idle_tasks.clear()
    for task in tasks:
        with contextlib.suppress(Exception):
            task()
    for runtime in _runtimes.values():
        runtime.ticker.stop()


def prepare_zygote() -> None:
    """Work every worker process would repeat before its first move, done once in the zygote that forks
    them (see `process_worker`): malloc's trim threshold (see `heap`), the native round loop built (if
    need be) and loaded, and the artifact cache's folder name for the default limits (reading
    wasmtime's version scans package metadata)."""
    from tournament.orchestration.heap import keep_freed_heap
    from tournament.sandbox import native

    keep_freed_heap()  # a zygote started afresh; a forked one has the coordinator's setting already
    with contextlib.suppress(Exception):
        native.rounds()
    _ = EngineSettings(stack_bytes=SandboxLimits().stack_bytes).fingerprint


def execute_in_worker(job: MatchJob) -> MatchPlayed:
    """Entry point for worker processes: reuse this process's runtime across jobs; record the match
    here when the job says how."""
    key = (job.limits.stack_bytes, job.cache_dir)
    runtime = _runtimes.get(key)
    if runtime is None:
        runtime = SandboxRuntime(job.limits.stack_bytes, Path(job.cache_dir) if job.cache_dir else None)
        _runtimes[key] = runtime
    runtime.ticker.start()  # if it rested (a no-op when it ticks)
    played = execute(job, runtime)
    return played if job.record is None else job.record(played)
