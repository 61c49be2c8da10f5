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


# `begin`'s flattened parameters: game (ptr, len), moves (ptr, len), rounds (tag, value), seed (i64),
# opponent (i64), history (ptr, len), first-round. The component mixes every one but the pointers.
BEGIN_PARAMS = [
    "local.get 1",
    "local.get 3",
    "local.get 4",
    "local.get 5",
    "local.get 6 i32.wrap_i64",
    "local.get 6 i64.const 32 i64.shr_u i32.wrap_i64",
    "local.get 7 i32.wrap_i64",
    "local.get 7 i64.const 32 i64.shr_u i32.wrap_i64",
    "local.get 9",
    "local.get 10",
]
BEGIN_MIX = "i32.const 7 " + " ".join(f"i32.const 31 i32.mul {param} i32.add" for param in BEGIN_PARAMS)


@settings(max_examples=60, deadline=None)
@given(
    game=st.sampled_from([("rps", ("rock", "paper", "scissors")), ("ipd", ("cooperate", "defect"))]),
    rounds=st.none() | st.integers(1, 10**6),
    seed=st.integers(0, 2**63 - 1),
    opponent=st.integers(0, 2**63 - 1),
    history=st.lists(
        st.tuples(st.none() | st.integers(0, 2), st.none() | st.integers(0, 2), s32, s32), max_size=5
    ),
)
def test_begin_gets_the_same_arguments_on_both_paths(
    begin_echo: bytes,
    runtime: SandboxRuntime,
    game: tuple[str, tuple[str, ...]],
    rounds: int | None,
    seed: int,
    opponent: int,
    history: list[RoundKey],
) -> None:
    from tournament.rules.records import RoundRecord

    records = tuple(RoundRecord(i, *key) for i, key in enumerate(history))
    setup = PlayerSetup(game[0], game[1], rounds, seed, opponent, records)
    digest = content_hash(begin_echo)
    moves = []
    for fast in (True, False):
        player = WasmPlayer(
            runtime.engine, runtime.component(digest), setup, SandboxLimits(), runtime.ticker, fast=fast
        )
        assert player.start() is None
        moves.append(player.next_move(None))
        player.close()
    assert moves[0] == moves[1]
    assert moves[0].forfeit is None


@pytest.fixture(scope="module")
def begin_echo(runtime: SandboxRuntime, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from tests.wasm_builders import build_component, core_wat

    wat = core_wat(
        "global.get $mix",
        begin_body=f"{BEGIN_MIX} global.set $mix",
        extra="(global $mix (mut i32) (i32.const 0))",
    )
    data = build_component(wat, tmp_path_factory.mktemp("begin-echo"))
    runtime.prepare(data)
    return data


@settings(max_examples=100, deadline=None)
@given(keys=st.lists(keys, min_size=1, max_size=8))
def test_players_sharing_their_component_calls_agree_with_stock(
    shared_players: tuple[WasmPlayer, WasmPlayer, WasmPlayer], keys: list[RoundKey | None]
) -> None:
    first_call, second_call, stock_call = (p._call for p in shared_players)
    assert isinstance(first_call, NextMoveCall)
    assert isinstance(second_call, NextMoveCall)
    assert first_call._lowered is second_call._lowered
    assert stock_call is not None
    for key in keys:
        results = {caller(key, 10_000, 100) for caller in (first_call, second_call, stock_call)}
        assert results == {(expected(key), next(iter(results))[1])}


@pytest.fixture(scope="module")
def shared_players(
    runtime: SandboxRuntime, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[WasmPlayer, WasmPlayer, WasmPlayer]]:
    from tests.wasm_builders import build_component, core_wat

    data = build_component(core_wat(ECHO), tmp_path_factory.mktemp("echo-shared"))
    runtime.prepare(data)
    digest = content_hash(data)
    setup = PlayerSetup("rps", ("rock", "paper", "scissors"), 10, 1, 2)
    first = runtime.player(digest, setup, SandboxLimits())
    second = runtime.player(digest, setup, SandboxLimits())
    stock = WasmPlayer(
        runtime.engine, runtime.component(digest), setup, SandboxLimits(), runtime.ticker, fast=False
    )
    players = (first, second, stock)
    for player in players:
        assert player.start() is None
    yield players
    for player in players:
        player.close()


@settings(max_examples=80, deadline=None)
@given(
    game=st.sampled_from([("rps", ("rock", "paper", "scissors")), ("ipd", ("cooperate", "defect"))]),
    rounds=st.sampled_from([None, 1, 200, 2**32 - 1]),
    seed=st.integers(0, 2**64 - 1),
    opponent=st.integers(0, 2**64 - 1),
    history=st.lists(
        st.tuples(st.none() | st.integers(0, 2), st.none() | st.integers(0, 2), s32, s32), max_size=2
    ),
)
def test_begin_arguments_kept_lowered_per_component_agree_with_stock(
    begin_echo: bytes,
    runtime: SandboxRuntime,
    game: tuple[str, tuple[str, ...]],
    rounds: int | None,
    seed: int,
    opponent: int,
    history: list[RoundKey],
) -> None:
    """The runtime's players share their component's lowered `begin` arguments across matches, with
    seed and opponent rewritten in place; every start must still tell the guest exactly what the stock
    call tells it."""
    from tournament.rules.records import RoundRecord

    records = tuple(RoundRecord(i, *key) for i, key in enumerate(history))
    setup = PlayerSetup(game[0], game[1], rounds, seed, opponent, records)
    digest = content_hash(begin_echo)
    shared = runtime.player(digest, setup, SandboxLimits())
    stock = WasmPlayer(
        runtime.engine, runtime.component(digest), setup, SandboxLimits(), runtime.ticker, fast=False
    )
    moves = []
    for player in (shared, stock):
        assert player.start() is None
        moves.append(player.next_move(None))
        player.close()
    assert moves[0] == moves[1]
    assert moves[0].forfeit is None
    kept = runtime.shared_calls(digest)._setups
    assert (game[0], game[1], rounds) in kept or history


def test_checked_components_share_call_state_and_each_plays_its_own_moves(
    wat_component: Build, runtime: SandboxRuntime
) -> None:
    """Components that passed the contract check have exactly the contract's function types, so their
    players share one call state (types, lowered arguments); each must still call its own exports. A
    component not checked keeps a state of its own."""
    checked = [wat_component(f"i32.const {move}") for move in (0, 1, 2)]
    for data in checked:
        runtime.prepare(data)
    unchecked = wat_component("i32.const 1 i32.const 1 i32.add")
    runtime.cache.get(unchecked, content_hash(unchecked))
    digests = [content_hash(data) for data in checked]
    shared = runtime.shared_calls(digests[0])
    assert all(runtime.shared_calls(digest) is shared for digest in digests)
    assert runtime.shared_calls(content_hash(unchecked)) is not shared
    setup = PlayerSetup("rps", ("rock", "paper", "scissors"), 3, 1, 2)
    for _ in range(2):
        for expected, digest in [*enumerate(digests), (2, content_hash(unchecked))]:
            player = runtime.player(digest, setup, SandboxLimits())
            assert player.start() is None
            assert [player.next_move(None).move for _ in range(2)] == [expected, expected]
            player.close()
