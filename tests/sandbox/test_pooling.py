"""Engines take instances from wasmtime's pooling allocator, and nothing a strategy sees changes.

The pool is on by default and off with `TOURNAMENT_POOLING=0` or under an address-space limit (which
wasmtime 51 cannot reserve it under). Matches on a pooled engine equal those on an on-demand one, fuel
included, forfeits included; a memory still grows only up to the tournament's cap; a full pool is a
host fault retried after a garbage collection, never a forfeit; and a component beyond the pool's
per-instance bounds is refused when it compiles, with the bound it exceeds.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox.conftest import Build
from tests.sandbox.test_match_paths import FAST, IPD_FIELD, assert_same
from tests.wasm_builders import BUILD_DIR
from tournament.orchestration.match import MatchPlayed, play_match
from tournament.rules.forfeits import ForfeitReason
from tournament.rules.games import IPD, RPS, Game
from tournament.sandbox import engine
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.errors import BadComponentError, EngineCapacityError
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.player import PlayerSetup, WasmPlayer
from tournament.sandbox.runtime import SandboxRuntime


def _enabled(*, env: dict[str, str] | None = None, limit: str = "") -> str:
    """`pooling_enabled()` as a fresh interpreter sees it, optionally under a resource limit."""
    limit = f"resource.setrlimit(resource.{limit}, ({64 << 30},) * 2);" if limit else ""
    code = f"import resource; {limit} from tournament.sandbox import engine; print(engine.pooling_enabled())"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, timeout=60
    )
    return done.stdout.strip()


def test_pooling_is_on_by_default_and_off_by_setting_or_under_a_memory_limit() -> None:
    base = {k: v for k, v in os.environ.items() if k != engine.POOLING_ENV}
    assert _enabled(env=base) == "True"
    assert _enabled(env={**base, engine.POOLING_ENV: "0"}) == "False"
    assert _enabled(env=base, limit="RLIMIT_AS") == "False"
    assert _enabled(env=base, limit="RLIMIT_DATA") == "False"


@pytest.fixture(scope="module")
def on_demand(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxRuntime]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(engine.POOLING_ENV, "0")
        runtime = SandboxRuntime(cache_dir=tmp_path_factory.mktemp("on-demand"))
    with runtime:
        yield runtime


def _play(runtime: SandboxRuntime, game: Game, a: bytes, b: bytes, *, rounds: int, seed: int) -> MatchPlayed:
    players = []
    for side, data in enumerate((a, b)):
        runtime.prepare(data)
        setup = PlayerSetup(game.name, game.moves, rounds, seed + side, side)
        players.append(runtime.player(content_hash(data), setup, FAST))
    return play_match(game, players[0], players[1], rounds=rounds, seed=seed)


def test_pooled_and_on_demand_engines_play_the_same_matches(
    runtime: SandboxRuntime, on_demand: SandboxRuntime, wat_component: Build
) -> None:
    assert engine.pooling_enabled()
    builtins = {name: (BUILD_DIR / f"{name}.wasm").read_bytes() for name in IPD_FIELD}
    for index, (a, b) in enumerate(zip(IPD_FIELD, IPD_FIELD[1:] + IPD_FIELD[:1], strict=True)):
        pooled = _play(runtime, IPD, builtins[a], builtins[b], rounds=60, seed=index)
        assert_same(pooled, _play(on_demand, IPD, builtins[a], builtins[b], rounds=60, seed=index))
    grower = wat_component(  # grows its memory by a page a round until the 8 MiB cap, then forfeits
        "i32.const 1 memory.grow i32.const -1 i32.eq (if (then unreachable)) i32.const 1", pages=100
    )
    rock = wat_component("i32.const 0")
    pooled = _play(runtime, RPS, grower, rock, rounds=40, seed=3)
    assert pooled.first_forfeit_a is not None
    assert pooled.first_forfeit_a.reason is ForfeitReason.TRAP
    assert pooled.score.forfeits_a == 40 - (128 - 100)  # 28 rounds grow to 128 pages (8 MiB)
    assert_same(pooled, _play(on_demand, RPS, grower, rock, rounds=40, seed=3))


def _player(runtime: SandboxRuntime, data: bytes) -> WasmPlayer:
    runtime.prepare(data)
    setup = PlayerSetup(RPS.name, RPS.moves, 10, 1, 2)
    return runtime.player(content_hash(data), setup, FAST)


def test_a_full_pool_is_freed_by_a_collection_and_never_forfeits(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, wat_component: Build
) -> None:
    monkeypatch.setitem(engine.POOL_BOUNDS, "total_component_instances", 2)
    rock = wat_component("i32.const 0")
    with SandboxRuntime(cache_dir=tmp_path) as small:
        gc.disable()
        try:
            for _ in range(2):  # started, then dropped without close: only a collection frees them
                dropped = _player(small, rock)
                assert dropped.start() is None
            del dropped
            held = [_player(small, rock) for _ in range(3)]
            assert held[0].start() is None
            assert held[1].start() is None
            with pytest.raises(EngineCapacityError, match="at capacity: maximum concurrent limit of 2"):
                held[2].start()
            held[0].close()
            assert held[2].start() is None
            assert held[2].next_move(None).forfeit is None
            for player in held:
                player.close()
        finally:
            gc.enable()


def test_a_component_beyond_the_pool_bounds_is_refused_when_compiled(
    runtime: SandboxRuntime, on_demand: SandboxRuntime, wat_component: Build
) -> None:
    elements = engine.POOL_BOUNDS["table_elements"] + 1
    big_table = wat_component(extra=f"(table {elements} funcref)")
    with pytest.raises(BadComponentError) as refused:
        runtime.prepare(big_table)
    assert str(refused.value) == (
        "does not compile: beyond the engine's bounds: table index 0 has a minimum element size of "
        f"{elements} which exceeds the limit of {elements - 1}"
    )
    assert on_demand.prepare(big_table).player_interface.startswith("tournament:strategy/player")


def test_memory_cap_still_applies_to_pooled_memories(runtime: SandboxRuntime, wat_component: Build) -> None:
    capped = SandboxLimits(**{**FAST.to_dict(), "memory_bytes": 1 << 20})
    data = wat_component("i32.const 0", pages=17)  # 17 pages: above a 1 MiB cap
    runtime.prepare(data)
    player = runtime.player(content_hash(data), PlayerSetup(RPS.name, RPS.moves, 5, 1, 2), capped)
    failure = player.start()
    assert failure is not None
    assert failure.forfeit is ForfeitReason.MEMORY
