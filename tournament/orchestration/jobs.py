"""A match as a self-contained, picklable job, and its execution inside a worker process.

Workers receive content hashes, never compiled objects: each worker process loads components from the
shared artifact cache (compiled once by the coordinator) and keeps one sandbox runtime per engine setting.
A worker checks each component against the contract itself when it first loads it (a component that
fails forfeits, with the same reason as when the coordinator found it out): the coordinator does not
load components it does not play.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tournament.orchestration.match import ForfeitingPlayer, MatchPlayed, Player, play_match
from tournament.rules.forfeits import ForfeitReason
from tournament.rules.games import get_game
from tournament.rules.records import RoundRecord
from tournament.sandbox.errors import BadComponentError
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.player import PlayerSetup
from tournament.sandbox.runtime import SandboxRuntime


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
"""This worker process's runtimes (one per engine setting); the only process-wide state, by necessity."""


def execute_in_worker(job: MatchJob) -> MatchPlayed:
    """Entry point for worker processes: reuse this process's runtime across jobs."""
    key = (job.limits.stack_bytes, job.cache_dir)
    runtime = _runtimes.get(key)
    if runtime is None:
        runtime = SandboxRuntime(job.limits.stack_bytes, Path(job.cache_dir) if job.cache_dir else None)
        _runtimes[key] = runtime
    return execute(job, runtime)
