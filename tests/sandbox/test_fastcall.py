"""The fast call path gives exactly the stock path's results, for every argument value."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import wasmtime
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.sandbox.conftest import Build
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.fastcall import (
    MAX_LOWERED,
    NextMoveCall,
    RoundKey,
    StockNextMoveCall,
    fast_path_available,
    next_move_call,
)
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.player import PlayerSetup, WasmPlayer
from tournament.sandbox.runtime import SandboxRuntime

# Mixes all seven flattened parameters (option tag, then each field) into the returned u32.
MIX = " ".join(f"i32.const 31 i32.mul local.get {i} i32.add" for i in range(7))
ECHO = f"i32.const 7 {MIX}"

u32 = st.integers(0, 2**32 - 1)
s32 = st.integers(-(2**31), 2**31 - 1)
keys = st.none() | st.tuples(st.none() | u32, st.none() | u32, s32, s32)


def expected(key: RoundKey | None) -> int:
    """The echo component's result, computed in Python from the canonical ABI's flattening."""
    if key is None:
        flat = [0, 0, 0, 0, 0, 0, 0]
    else:
        my, their, pay_a, pay_b = key
        flat = [1, int(my is not None), my or 0, int(their is not None), their or 0, pay_a, pay_b]
    value = 7
    for param in flat:
        value = (value * 31 + (param & 0xFFFFFFFF)) & 0xFFFFFFFF
    return value


class Callers:
    def __init__(self, runtime: SandboxRuntime, data: bytes) -> None:
        runtime.prepare(data)
        component = runtime.component(content_hash(data))
        setup = PlayerSetup("rps", ("rock", "paper", "scissors"), 10, 1, 2)
        self.players = [
            WasmPlayer(runtime.engine, component, setup, SandboxLimits(), runtime.ticker, fast=fast)
            for fast in (True, False)
        ]
        for player in self.players:
            assert player.start() is None
        fast, stock = (p._call for p in self.players)
        assert isinstance(fast, NextMoveCall)
        assert isinstance(stock, StockNextMoveCall)
        self.fast, self.stock = fast, stock


@pytest.fixture(scope="module")
def callers(runtime: SandboxRuntime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callers]:
    from tests.wasm_builders import build_component, core_wat

    data = build_component(core_wat(ECHO), tmp_path_factory.mktemp("echo"))
    pair = Callers(runtime, data)
    yield pair
    for player in pair.players:
        player.close()


def test_fast_path_is_available() -> None:
    assert fast_path_available()


@settings(max_examples=300, deadline=None)
@given(key=keys)
def test_fast_and_stock_paths_agree_on_every_argument(callers: Callers, key: RoundKey | None) -> None:
    fast_move, fast_fuel = callers.fast(key, 10_000, 100)
    stock_move, stock_fuel = callers.stock(key, 10_000, 100)
    assert fast_move == stock_move == expected(key)
    assert fast_fuel == stock_fuel > 0


def test_repeated_keys_reuse_the_lowered_argument(callers: Callers) -> None:
    key = (1, None, -1, 1)
    first = callers.fast(key, 10_000, 100)
    assert key in callers.fast._lowered
    assert callers.fast(key, 10_000, 100) == first


def test_more_distinct_keys_than_the_cache_holds(callers: Callers) -> None:
    for payoff in range(MAX_LOWERED + 50):
        key = (0, 1, payoff, -payoff)
        assert callers.fast(key, 10_000, 100)[0] == expected(key)
    assert len(callers.fast._lowered) <= MAX_LOWERED


def test_traps_surface_as_wasmtime_errors_on_both_paths(
    wat_component: Build, runtime: SandboxRuntime
) -> None:
    data = wat_component("unreachable")
    runtime.prepare(data)
    component = runtime.component(content_hash(data))
    for fast in (True, False):
        player = WasmPlayer(
            runtime.engine,
            component,
            PlayerSetup("rps", ("r", "p", "s"), 1, 1, 1),
            SandboxLimits(),
            runtime.ticker,
        )
        assert player.start() is None
        call = player._call
        assert call is not None
        caller = next_move_call(player._store, call._func, fast=fast)  # type: ignore[arg-type]
        with pytest.raises(wasmtime.WasmtimeError, match="unreachable"):
            caller(None, 10_000, 100)
        player.close()
