"""Real match jobs between built-in strategies, compiled once into a per-test artifact cache."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tournament.orchestration.jobs import MatchJob, Seat
from tournament.paths import BUILTINS_MANIFEST
from tournament.rules.seeds import derive_seed, opponent_id
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.runtime import SandboxRuntime

JobFactory = Callable[[int, str, str], MatchJob]


def builtin_bytes(name: str) -> bytes:
    manifest = json.loads(BUILTINS_MANIFEST.read_text())
    entry = next(s for s in manifest["strategies"] if s["name"] == name)
    return (BUILTINS_MANIFEST.parent / str(entry["file"])).read_bytes()


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[SandboxRuntime]:
    with SandboxRuntime(cache_dir=tmp_path / "cache") as runtime:
        yield runtime


@pytest.fixture
def make_job(runtime: SandboxRuntime, tmp_path: Path) -> JobFactory:
    """A job for match `match_id` between two built-ins (compiled into the test's artifact cache)."""

    def make(match_id: int, a: str, b: str, rounds: int = 300) -> MatchJob:
        seats = []
        for name, other, side in ((a, b, "a"), (b, a, "b")):
            data = builtin_bytes(name)
            runtime.prepare(data)
            seed = derive_seed(1000 + match_id, side)
            seats.append(Seat(name, content_hash(data), seed, opponent_id(other)))
        cache = str(tmp_path / "cache")
        return MatchJob(
            match_id=match_id, game="rps", rounds=rounds, seed=1000 + match_id, noise=0.1,
            hidden_rounds=False, limits=SandboxLimits(), a=seats[0], b=seats[1], cache_dir=cache,
        )  # fmt: skip

    return make
