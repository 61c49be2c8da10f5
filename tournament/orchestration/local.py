"""Play a single match between two component files, in process, without a database.

Used by tests and by authors trying a strategy locally.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tournament.orchestration.jobs import MatchJob, Seat, execute
from tournament.orchestration.match import MatchPlayed
from tournament.rules.games import get_game
from tournament.rules.seeds import derive_seed, opponent_id
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.errors import BadComponentError
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.runtime import SandboxRuntime


@dataclass(frozen=True, slots=True)
class LocalSide:
    name: str
    digest: str
    rejected: str | None


def play_local_match(
    path_a: Path | bytes,
    path_b: Path | bytes,
    *,
    game: str = "rps",
    rounds: int = 1000,
    seed: int = 0,
    noise: float = 0.0,
    limits: SandboxLimits | None = None,
    hidden_rounds: bool = False,
    allow_wasi: bool = False,
    runtime: SandboxRuntime | None = None,
) -> MatchPlayed:
    """Play one match; a component that fails the contract check forfeits every round (bad-component)."""
    limits = limits or SandboxLimits()
    get_game(game)
    owned = runtime is None
    runtime = runtime or SandboxRuntime(limits.stack_bytes)
    try:
        side_a = _prepare(runtime, path_a, "a", allow_wasi)
        side_b = _prepare(runtime, path_b, "b", allow_wasi)
        job = MatchJob(
            match_id=0,
            game=game,
            rounds=rounds,
            seed=seed,
            noise=noise,
            hidden_rounds=hidden_rounds,
            limits=limits,
            a=Seat(
                side_a.name,
                side_a.digest,
                derive_seed(seed, "a"),
                opponent_id(side_b.name),
                rejected=side_a.rejected,
            ),
            b=Seat(
                side_b.name,
                side_b.digest,
                derive_seed(seed, "b"),
                opponent_id(side_a.name),
                rejected=side_b.rejected,
            ),
            allow_wasi=allow_wasi,
        )
        return execute(job, runtime)
    finally:
        if owned:
            runtime.close()


def _prepare(runtime: SandboxRuntime, source: Path | bytes, fallback: str, allow_wasi: bool) -> LocalSide:
    data = source.read_bytes() if isinstance(source, Path) else source
    name = source.stem if isinstance(source, Path) else fallback
    digest = content_hash(data)
    try:
        runtime.prepare(data, digest, allow_wasi=allow_wasi)
    except BadComponentError as error:
        return LocalSide(name, digest, str(error))
    return LocalSide(name, digest, None)
