"""The match loop's object-free paths play exactly the matches the generic path plays.

`play_match` takes the keyed path (`KeyedPlayer.move`, rows in a `RoundLog`) when both players have it and
the generic one (`next_move`, `RoundRecord`s) otherwise. Without noise, the keyed path starts in a loop
specialised for rounds with two legal moves and hands over to its general loop at the first forfeit or
illegal move; that loop runs in C (`tournament.sandbox.native`) where the library could be built, else in
Python (the players' `mover` functions called directly). The same components, seeds and noise must give
identical rounds (fuel included), scores, forfeits and logs on every path, over the fast and the stock
call, including every kind of forfeit.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.sandbox.conftest import Build
from tests.wasm_builders import BUILD_DIR
from tournament.orchestration import match as match_module
from tournament.orchestration.match import ForfeitingPlayer, KeyedPlayer, MatchPlayed, Player, play_match
from tournament.rules.forfeits import ForfeitReason
from tournament.rules.games import IPD, RPS, Game, Ranking
from tournament.rules.records import RoundLog, RoundRecord
from tournament.sandbox import native
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.fastcall import MAX_LOWERED, ComponentCalls, MoveTuple, RoundKey
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.player import LogBuffer, MoveResult, NativeSeat, PlayerSetup, WasmPlayer
from tournament.sandbox.runtime import SandboxRuntime

FAST = SandboxLimits(fuel_per_move=200_000, setup_fuel=2_000_000, timeout_ms=1_000, memory_bytes=8 << 20)
IPD_FIELD = ("alternator", "grudger", "tit-for-tat", "tit-for-two-tats", "win-stay-lose-shift", "defector")


class Generic:
    """Hides a player's keyed path, so `play_match` takes the generic one."""

    def __init__(self, player: Player) -> None:
        self._player = player
        self.logs: LogBuffer = player.logs

    def start(self) -> MoveResult | None:
        return self._player.start()

    def next_move(self, last: RoundRecord | None) -> MoveResult:
        return self._player.next_move(last)

    def close(self) -> None:
        self._player.close()


class KeyedOnly(Generic):
    """Hides only a player's `mover`, so `play_match` takes the keyed path's general loop throughout."""

    def move(self, last: RoundKey | None) -> MoveTuple:
        return self._player.move(last)  # type: ignore[attr-defined, no-any-return]


PATHS = ("native", "specialised", "keyed", "generic", "stock call")


@contextlib.contextmanager
def native_loop(enabled: bool) -> Iterator[None]:
    """Matches played inside take the native loop or not (`TOURNAMENT_NATIVE`)."""
    saved = os.environ.get("TOURNAMENT_NATIVE")
    os.environ["TOURNAMENT_NATIVE"] = "1" if enabled else "0"
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TOURNAMENT_NATIVE"]
        else:
            os.environ["TOURNAMENT_NATIVE"] = saved


def all_paths(
    runtime: SandboxRuntime,
    game: Game,
    a: bytes,
    b: bytes,
    *,
    rounds: int,
    seed: int,
    noise: float = 0.0,
    limits: SandboxLimits = FAST,
    seeds: tuple[int, int] | None = None,
) -> dict[str, MatchPlayed]:
    """The same match on every path: `native` (the loop for clean rounds in C, then the general one),
    `specialised` (the same in Python), `keyed` (the general keyed loop only), `generic` (records), and
    `stock call` (the specialised loop over wasmtime-py's stock `Func.__call__` instead of the fast
    call). `seeds`: the players' seeds (default: `seed` and `seed + 1`)."""
    digests = []
    for data in (a, b):
        runtime.prepare(data)
        digests.append(content_hash(data))

    def setup(side: int) -> PlayerSetup:
        player_seed = seed + side if seeds is None else seeds[side]
        return PlayerSetup(game.name, game.moves, rounds, player_seed, side)

    def players(path: str) -> list[Player]:
        if path == "stock call":
            return [
                WasmPlayer(
                    runtime.engine, runtime.component(digest), setup(side), limits, runtime.ticker, fast=False
                )
                for side, digest in enumerate(digests)
            ]
        made = [runtime.player(digest, setup(side), limits) for side, digest in enumerate(digests)]
        if path == "keyed":
            return [KeyedOnly(player) for player in made]
        if path == "generic":
            return [Generic(player) for player in made]
        return list(made)

    played = {}
    for path in PATHS:
        player_a, player_b = players(path)
        assert isinstance(player_a, KeyedPlayer) == (path != "generic")
        with native_loop(path == "native"):
            played[path] = play_match(game, player_a, player_b, rounds=rounds, seed=seed, noise=noise)
        assert isinstance(played[path].rounds, tuple if path == "generic" else RoundLog)
    return played


def both_paths(
    runtime: SandboxRuntime,
    game: Game,
    a: bytes,
    b: bytes,
    *,
    rounds: int,
    seed: int,
    noise: float = 0.0,
    limits: SandboxLimits = FAST,
) -> tuple[MatchPlayed, MatchPlayed]:
    """(native, generic) after checking that every other path plays the same match."""
    played = all_paths(runtime, game, a, b, rounds=rounds, seed=seed, noise=noise, limits=limits)
    for path in ("specialised", "keyed", "stock call"):
        assert_same(played[path], played["generic"])
    return played["native"], played["generic"]


def assert_same(keyed: MatchPlayed, generic: MatchPlayed) -> None:
    assert list(keyed.rounds) == list(generic.rounds)
    assert keyed.rounds == generic.rounds
    assert keyed.score == generic.score
    assert (keyed.first_forfeit_a, keyed.first_forfeit_b) == (
        generic.first_forfeit_a,
        generic.first_forfeit_b,
    )
    assert keyed.logs == generic.logs


@pytest.fixture(scope="module")
def builtins() -> dict[str, bytes]:
    return {name: (BUILD_DIR / f"{name}.wasm").read_bytes() for name in IPD_FIELD}


@settings(max_examples=25, deadline=None)
@given(
    pair=st.tuples(st.sampled_from(IPD_FIELD), st.sampled_from(IPD_FIELD)),
    seed=st.integers(0, 2**63 - 1),
    noise=st.sampled_from([0.0, 0.05, 0.5, 1.0]),
)
def test_builtin_strategies_with_noise(
    runtime: SandboxRuntime, builtins: dict[str, bytes], pair: tuple[str, str], seed: int, noise: float
) -> None:
    keyed, generic = both_paths(
        runtime, IPD, builtins[pair[0]], builtins[pair[1]], rounds=40, seed=seed, noise=noise
    )
    assert_same(keyed, generic)


@pytest.fixture
def misbehaving(wat_component: Build) -> dict[str, bytes]:
    return {
        "rock": wat_component("i32.const 0"),
        # Fuel forfeit on round 3 only (then a restart), illegal move 7 on round 5, paper otherwise.
        "fuel-once": wat_component(
            "local.get $r i32.const 3 i32.eq (if (then (loop $l br $l)))"
            " local.get $r i32.const 5 i32.eq (if (result i32) (then i32.const 7) (else i32.const 1))"
        ),
        "trap-at-4": wat_component("local.get $r i32.const 4 i32.eq (if (then unreachable)) i32.const 2"),
        "rotate": wat_component("local.get $r i32.const 3 i32.rem_u"),
    }


@pytest.mark.parametrize(
    ("a", "b"),
    [("fuel-once", "rock"), ("rock", "trap-at-4"), ("trap-at-4", "fuel-once"), ("rotate", "rotate")],
)
@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_forfeits_of_every_kind(
    runtime: SandboxRuntime, misbehaving: dict[str, bytes], a: str, b: str, noise: float
) -> None:
    keyed, generic = both_paths(runtime, RPS, misbehaving[a], misbehaving[b], rounds=9, seed=7, noise=noise)
    assert_same(keyed, generic)
    reasons = {r.forfeit_a for r in keyed.rounds} | {r.forfeit_b for r in keyed.rounds}
    if "fuel-once" in (a, b):
        assert {ForfeitReason.FUEL, ForfeitReason.ILLEGAL_MOVE} <= reasons
    if "trap-at-4" in (a, b):
        assert ForfeitReason.TRAP in reasons


def test_a_player_that_cannot_start_forfeits_the_same_way(
    runtime: SandboxRuntime, builtins: dict[str, bytes]
) -> None:
    runtime.prepare(builtins["grudger"])
    digest = content_hash(builtins["grudger"])

    def match(wrap: bool) -> MatchPlayed:
        bad = ForfeitingPlayer(ForfeitReason.BAD_COMPONENT, "does not compile")
        good = runtime.player(digest, PlayerSetup("ipd", IPD.moves, 5, 1, 2), FAST)
        if wrap:
            return play_match(IPD, Generic(bad), good, rounds=5, seed=3)
        return play_match(IPD, bad, good, rounds=5, seed=3)

    assert_same(match(wrap=False), match(wrap=True))


def test_round_log_reads_as_records() -> None:
    records = [
        RoundRecord(0, 0, 1, 0, 5, fuel_a=10, fuel_b=20),
        RoundRecord(1, None, 1, 0, 5, noise_b=True, forfeit_a=ForfeitReason.FUEL, fuel_a=7),
    ]
    log = RoundLog([record.as_row() for record in records])
    assert len(log) == 2
    assert list(log) == records
    assert log[1] == records[1]
    assert log[-1] == records[-1]
    assert log[1:] == tuple(records[1:])
    assert log == records
    assert log == RoundLog(list(log.rows))
    assert log != records[:1]
    assert pickle.loads(pickle.dumps(log)) == log


@pytest.fixture(scope="module")
def burner(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Spins (round % 7) * 40 times before its move (round % 2): fuel used varies from round to round."""
    from tests.wasm_builders import build_component, core_wat

    body = (
        "local.get $r i32.const 7 i32.rem_u i32.const 40 i32.mul local.set $r"
        " (block $done (loop $spin local.get $r i32.eqz br_if $done"
        " local.get $r i32.const 1 i32.sub local.set $r br $spin))"
        " call $round i32.const 2 i32.rem_u"
    )
    return build_component(core_wat(body), tmp_path_factory.mktemp("burner"))


@settings(max_examples=15, deadline=None)
@given(
    budget=st.integers(50, 3_000),
    opponent=st.sampled_from(IPD_FIELD),
    seed=st.integers(0, 2**63 - 1),
    noise=st.sampled_from([0.0, 0.0, 0.1]),
)
def test_fuel_exhausting_moves_forfeit_alike_on_every_path(
    runtime: SandboxRuntime,
    builtins: dict[str, bytes],
    burner: bytes,
    budget: int,
    opponent: str,
    seed: int,
    noise: float,
) -> None:
    limits = SandboxLimits(fuel_per_move=budget, setup_fuel=2_000_000, timeout_ms=1_000, memory_bytes=8 << 20)
    keyed, generic = both_paths(
        runtime, IPD, burner, builtins[opponent], rounds=30, seed=seed, noise=noise, limits=limits
    )
    assert_same(keyed, generic)
    fuels = [r.fuel_a for r in keyed.rounds]
    assert len(set(fuels)) > 1
    for record in keyed.rounds:
        if record.forfeit_a is ForfeitReason.FUEL:
            assert record.fuel_a == budget
        else:
            assert record.forfeit_a is None
            assert 0 < record.fuel_a <= budget


class Counted:
    """A real player that counts how the match loop asked for its moves (and, with `seats`, offers the
    native loop its seat, counting those too)."""

    def __init__(self, player: WasmPlayer, *, seats: bool = False) -> None:
        self._player = player
        self.logs = player.logs
        self.mover_calls = 0
        self.move_calls = 0
        self.seats = 0
        if seats:
            self.native_seat = self._native_seat

    def _native_seat(
        self, keys: tuple[RoundKey | None, ...], round_cell: ctypes.c_int64
    ) -> NativeSeat | None:
        seat = self._player.native_seat(keys, round_cell)
        self.seats += seat is not None
        return seat

    def start(self) -> MoveResult | None:
        return self._player.start()

    def next_move(self, last: RoundRecord | None) -> MoveResult:
        return self._player.next_move(last)

    def move(self, last: RoundKey | None) -> MoveTuple:
        self.move_calls += 1
        return self._player.move(last)

    def mover(self) -> Callable[[RoundKey | None], MoveTuple] | None:
        inner = self._player.mover()
        if inner is None:
            return None

        def counted(last: RoundKey | None) -> MoveTuple:
            self.mover_calls += 1
            return inner(last)

        return counted

    def close(self) -> None:
        self._player.close()


@pytest.mark.parametrize("noise", [0.0, 0.2])
def test_the_specialised_loop_hands_over_at_the_first_forfeit(
    runtime: SandboxRuntime, misbehaving: dict[str, bytes], noise: float
) -> None:
    digests = []
    for name in ("rock", "fuel-once"):
        runtime.prepare(misbehaving[name])
        digests.append(content_hash(misbehaving[name]))
    a, b = (
        Counted(runtime.player(digest, PlayerSetup("rps", RPS.moves, 9, 1, side), FAST))
        for side, digest in enumerate(digests)
    )
    with native_loop(False):
        played = play_match(RPS, a, b, rounds=9, seed=5, noise=noise)
    assert [r.forfeit_b for r in played.rounds][3] is ForfeitReason.FUEL
    if noise == 0.0:
        # Rounds 0-3 through the move functions (round 3's forfeit included), the rest through `move`.
        assert (a.mover_calls, b.mover_calls, a.move_calls, b.move_calls) == (4, 4, 5, 5)
    else:
        assert (a.mover_calls, b.mover_calls, a.move_calls, b.move_calls) == (0, 0, 9, 9)


LOG_IMPORT = '(import "tournament:strategy/host@1.0.0" "log" (func $log (param i32 i32)))'


def test_log_lines_reach_the_player_that_logged_through_the_shared_linker(
    runtime: SandboxRuntime, wat_component: Build
) -> None:
    """Both players' instances share the runtime's linker; each line lands with its own player, also
    after a restart (a new store) and on every path."""
    chatty_a = wat_component(
        "i32.const 100 i32.const 5 call $log"
        " local.get $r i32.const 2 i32.eq (if (then (loop $l br $l))) i32.const 0",
        imports=LOG_IMPORT,
        extra='(data (i32.const 100) "alpha")',
    )
    chatty_b = wat_component(
        "i32.const 100 i32.const 4 call $log i32.const 1",
        imports=LOG_IMPORT,
        extra='(data (i32.const 100) "beta")',
    )
    keyed, generic = both_paths(runtime, RPS, chatty_a, chatty_b, rounds=5, seed=3)
    assert_same(keyed, generic)
    assert [r.forfeit_a for r in keyed.rounds] == [None, None, ForfeitReason.FUEL, None, None]
    assert sorted(keyed.logs) == sorted(
        [("a", index, "alpha") for index in range(5)] + [("b", index, "beta") for index in range(5)]
    )


def test_the_native_loop_is_built_where_a_compiler_exists() -> None:
    """Fails if the native loop is silently unavailable on a machine that can build it."""
    if shutil.which(os.environ.get("CC") or "cc") is None:
        pytest.skip("no C compiler: the Python loop is the only one")
    with native_loop(True):
        assert native.rounds() is not None


def counted_pair(
    runtime: SandboxRuntime, data: tuple[bytes, bytes], game: Game, rounds: int, *, seats: bool
) -> tuple[Counted, Counted]:
    digests = []
    for item in data:
        runtime.prepare(item)
        digests.append(content_hash(item))
    a, b = (
        Counted(
            runtime.player(digest, PlayerSetup(game.name, game.moves, rounds, 1, side), FAST), seats=seats
        )
        for side, digest in enumerate(digests)
    )
    return a, b


@pytest.mark.parametrize(
    ("a", "b", "counts"),
    [
        # (mover calls of A and B, move calls of A and B) after the native run.
        ("rock", "rotate", (0, 0, 0, 0)),
        # B's call fails in round 3: the native loop made both calls, the general loop plays rounds 4-8.
        ("rock", "fuel-once", (0, 0, 5, 5)),
        # A's call fails in round 3: B is asked for that round through its move function, as in Python.
        ("fuel-once", "rock", (0, 1, 5, 5)),
        ("trap-at-4", "rotate", (0, 1, 4, 4)),
    ],
)
def test_the_native_loop_plays_the_clean_rounds_and_hands_over_at_the_first_forfeit(
    runtime: SandboxRuntime, misbehaving: dict[str, bytes], a: str, b: str, counts: tuple[int, int, int, int]
) -> None:
    data = (misbehaving[a], misbehaving[b])
    native_a, native_b = counted_pair(runtime, data, RPS, 9, seats=True)
    with native_loop(True):
        played = play_match(RPS, native_a, native_b, rounds=9, seed=5)
    assert (native_a.seats, native_b.seats) == (1, 1)
    assert (native_a.mover_calls, native_b.mover_calls, native_a.move_calls, native_b.move_calls) == counts
    python_a, python_b = counted_pair(runtime, data, RPS, 9, seats=False)
    assert_same(played, play_match(RPS, python_a, python_b, rounds=9, seed=5))
    assert python_a.mover_calls > 0


def scripted_wat() -> str:
    """A strategy whose every round is decided by a hash of its seed and the round, so that a seed is a
    script: mostly legal moves that depend on `last` (payoffs included), and now and then a trap, a
    loop (a fuel or timeout forfeit), an illegal move (small, or u32::MAX), a log line, or a spin that
    makes the round's fuel vary. The seed's top 3 bits set how rare those events are (1 in 8 to 1 in
    1024 rounds each)."""
    from tests.wasm_builders import core_wat

    event = "global.get $b global.get $mask i32.and"
    move_body = f"""
        global.get $seed local.get $r i64.extend_i32_u i64.const -7046029254386353131 i64.mul i64.xor
        global.set $h
        global.get $h global.get $h i64.const 29 i64.shr_u i64.xor i64.const -4658895280553007687 i64.mul
        global.set $h
        global.get $h global.get $h i64.const 32 i64.shr_u i64.xor i32.wrap_i64 global.set $b
        {event} i32.const 0 i32.eq (if (then unreachable))
        {event} i32.const 1 i32.eq (if (then (loop $l br $l)))
        {event} i32.const 2 i32.eq (if (then (loop $l2 br $l2)))
        {event} i32.const 3 i32.eq (if (then i32.const 100 i32.const 4 call $log))
        {event} i32.const 4 i32.eq (if (then global.get $b i32.const 4 i32.shr_u i32.const 255 i32.and
            global.set $k (block $done (loop $spin global.get $k i32.eqz br_if $done
            global.get $k i32.const 1 i32.sub global.set $k br $spin))))
        {event} i32.const 5 i32.eq (if (then global.get $n global.get $b i32.const 20 i32.shr_u i32.const 3
            i32.and i32.add return))
        {event} i32.const 6 i32.eq (if (then i32.const -1 return))
        global.get $b i32.const 12 i32.shr_u
        local.get 0 i32.add
        local.get 1 i32.const 3 i32.mul i32.add local.get 2 i32.const 5 i32.mul i32.add
        local.get 3 i32.const 7 i32.mul i32.add local.get 4 i32.const 11 i32.mul i32.add
        local.get 5 i32.const 13 i32.mul i32.add local.get 6 i32.const 17 i32.mul i32.add
        global.get $n i32.rem_u
    """
    begin_body = """
        local.get 6 global.set $seed local.get 3 global.set $n
        i32.const 1 local.get 6 i64.const 61 i64.shr_u i32.wrap_i64 i32.const 3 i32.add i32.shl
        i32.const 1 i32.sub global.set $mask
    """
    extra = """
        (global $seed (mut i64) (i64.const 0)) (global $h (mut i64) (i64.const 0))
        (global $n (mut i32) (i32.const 1)) (global $b (mut i32) (i32.const 0))
        (global $k (mut i32) (i32.const 0)) (global $mask (mut i32) (i32.const 7))
        (data (i32.const 100) "tick")
    """
    return core_wat(move_body, begin_body=begin_body, imports=LOG_IMPORT, extra=extra)


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from tests.wasm_builders import build_component

    return build_component(scripted_wat(), tmp_path_factory.mktemp("scripted"))


@st.composite
def games(draw: st.DrawFn, max_moves: int = 5) -> Game:
    """Square games of 2..max_moves moves with any small payoffs, not necessarily symmetric."""
    n = draw(st.integers(2, max_moves))
    cells = draw(st.lists(st.tuples(st.integers(-9, 9), st.integers(-9, 9)), min_size=n * n, max_size=n * n))
    payoffs = tuple(tuple(cells[a * n : (a + 1) * n]) for a in range(n))
    return Game(f"g{n}", tuple(f"m{i}" for i in range(n)), payoffs, Ranking.MEAN_PAYOFF, None)


def without_timeout_fuel(played: MatchPlayed) -> list[RoundRecord]:
    """The rounds with the fuel of timed-out calls zeroed: how far a call got before the epoch moved
    depends on the machine, not on the path."""
    return [
        replace(
            record,
            fuel_a=0 if record.forfeit_a is ForfeitReason.TIMEOUT else record.fuel_a,
            fuel_b=0 if record.forfeit_b is ForfeitReason.TIMEOUT else record.fuel_b,
        )
        for record in played.rounds
    ]


def assert_all_same(played: dict[str, MatchPlayed], *, timeouts: bool = False) -> None:
    reference = played["generic"]
    for path, match in played.items():
        if timeouts:
            assert without_timeout_fuel(match) == without_timeout_fuel(reference), path
            assert (match.first_forfeit_a, match.first_forfeit_b) == (
                reference.first_forfeit_a,
                reference.first_forfeit_b,
            ), path
            assert match.logs == reference.logs, path
        else:
            assert_same(match, reference)


u64 = st.integers(0, 2**64 - 1)


@settings(max_examples=40, deadline=None)
@given(
    game=games(),
    seeds=st.tuples(u64, u64),
    opponent=st.sampled_from(["scripted", "scripted", "tit-for-tat", "alternator"]),
    rounds=st.integers(0, 60),
    noise=st.sampled_from([0.0, 0.0, 0.0, 0.2]),
)
def test_scripted_strategies_play_identically_on_every_path(
    runtime: SandboxRuntime,
    builtins: dict[str, bytes],
    scripted: bytes,
    game: Game,
    seeds: tuple[int, int],
    opponent: str,
    rounds: int,
    noise: float,
) -> None:
    b = scripted if opponent == "scripted" else builtins[opponent]
    played = all_paths(
        runtime, game, scripted, b, rounds=rounds, seed=seeds[0] >> 1, noise=noise, seeds=seeds
    )
    assert_all_same(played)
    assert len(played["native"].rounds) == rounds


def test_scripted_events_all_happen(runtime: SandboxRuntime, scripted: bytes) -> None:
    """The script above does produce every kind of round it claims to (seed top bits 0: 1 in 8)."""
    played = all_paths(runtime, RPS, scripted, scripted, rounds=200, seed=11, seeds=(12345, 67890))
    assert_all_same(played)
    reasons = {r.forfeit_a for r in played["native"].rounds} | {r.forfeit_b for r in played["native"].rounds}
    assert {ForfeitReason.TRAP, ForfeitReason.FUEL, ForfeitReason.ILLEGAL_MOVE} <= reasons
    assert played["native"].logs


def test_games_too_large_for_the_native_loop_play_identically(
    runtime: SandboxRuntime, scripted: bytes
) -> None:
    n = native.MAX_MOVES + 1
    payoffs = tuple(tuple(((a * 7 + b) % 5, (b * 3 + a) % 4) for b in range(n)) for a in range(n))
    game = Game("big", tuple(f"m{i}" for i in range(n)), payoffs, Ranking.MEAN_PAYOFF, None)
    played = all_paths(runtime, game, scripted, scripted, rounds=30, seed=3, seeds=(2**63, 2**63 + 5))
    assert_all_same(played)


SLOW = SandboxLimits(fuel_per_move=10**12, setup_fuel=2_000_000, timeout_ms=40, memory_bytes=8 << 20)
"""Fuel never runs out: a looping call ends only at the epoch deadline."""


@pytest.mark.parametrize("looper", ["a", "b"])
@pytest.mark.parametrize("at", [0, 3])
def test_epoch_timeouts_forfeit_alike_on_every_path(
    runtime: SandboxRuntime, wat_component: Build, scripted: bytes, looper: str, at: int
) -> None:
    loops = wat_component(
        f"i32.const 100 i32.const 5 call $log local.get $r i32.const {at} i32.eq (if (then (loop $l br $l)))"
        " local.get $r i32.const 2 i32.rem_u",
        imports=LOG_IMPORT,
        extra='(data (i32.const 100) "alpha")',
    )
    # The scripted side's events are rare (top bits 7: 1 in 1024 rounds each).
    a, b = (loops, scripted) if looper == "a" else (scripted, loops)
    played = all_paths(runtime, IPD, a, b, rounds=8, seed=1, limits=SLOW, seeds=(7 << 61, (7 << 61) + 1))
    assert_all_same(played, timeouts=True)
    column = [r.forfeit_a if looper == "a" else r.forfeit_b for r in played["native"].rounds]
    assert column[at] is ForfeitReason.TIMEOUT


@settings(max_examples=10, deadline=None)
@given(
    game=games(),
    seeds=st.tuples(st.integers(4 << 61, (6 << 61) - 1), st.integers(4 << 61, (6 << 61) - 1)),
    rounds=st.integers(1, 25),
)
def test_scripted_strategies_that_time_out_play_identically_on_every_path(
    runtime: SandboxRuntime, scripted: bytes, game: Game, seeds: tuple[int, int], rounds: int
) -> None:
    """With fuel that never runs out the script's loops end at the epoch deadline (events 1 in 128 or
    256 rounds: a timeout costs `SLOW.timeout_ms` on each path)."""
    played = all_paths(runtime, game, scripted, scripted, rounds=rounds, seed=5, limits=SLOW, seeds=seeds)
    assert_all_same(played, timeouts=True)
    reasons = {r.forfeit_a for r in played["native"].rounds} | {r.forfeit_b for r in played["native"].rounds}
    assert ForfeitReason.FUEL not in reasons


@pytest.mark.parametrize("late", ["a", "b", "neither"])
def test_runs_longer_than_the_native_chunk_play_identically(
    runtime: SandboxRuntime,
    wat_component: Build,
    scripted: bytes,
    monkeypatch: pytest.MonkeyPatch,
    late: str,
) -> None:
    """A long match is played in chunks (`NATIVE_CHUNK` rounds per native call); the chunks' seams (the
    previous chunk's last round as the next one's `last`, histories, tallies) must not show, also not
    in a restart after them (its `first-round` is the length of the history the run kept)."""
    monkeypatch.setattr(match_module, "NATIVE_CHUNK", 7)
    late_fuel = wat_component(
        "i32.const 100 i32.const 5 call $log"
        " local.get $r i32.const 20 i32.eq (if (then (loop $l br $l)))"
        " local.get $r i32.const 45 i32.eq (if (then (loop $l2 br $l2)))"
        " local.get $r local.get 2 i32.add i32.const 3 i32.rem_u",
        imports=LOG_IMPORT,
        extra='(data (i32.const 100) "alpha")',
    )
    rare = (7 << 61) | 99  # the scripted side's events: 1 in 1024 rounds each
    a, b = {"a": (late_fuel, scripted), "b": (scripted, late_fuel), "neither": (scripted, scripted)}[late]
    played = all_paths(runtime, RPS, a, b, rounds=80, seed=2, seeds=(rare, rare + 1))
    assert_all_same(played)
    if late != "neither":
        column = [r.forfeit_a if late == "a" else r.forfeit_b for r in played["native"].rounds]
        assert [i for i, reason in enumerate(column) if reason] == [20, 45]


def test_a_full_argument_cache_leaves_the_rounds_to_the_python_loop(
    runtime: SandboxRuntime, misbehaving: dict[str, bytes]
) -> None:
    """A component whose lowered-argument cache is full cannot get the native loop's argument table: its
    matches take the Python loop, with the same results."""
    data = misbehaving["rotate"]
    runtime.prepare(data)
    component = runtime.component(content_hash(data))

    def player(calls: ComponentCalls, side: int) -> WasmPlayer:
        setup = PlayerSetup("rps", RPS.moves, 9, 1, side)
        return WasmPlayer(runtime.engine, component, setup, FAST, runtime.ticker, calls=calls)

    def pair(calls: ComponentCalls) -> tuple[Counted, Counted]:
        return Counted(player(calls, 0), seats=True), Counted(player(calls, 1), seats=True)

    full = ComponentCalls()
    filler = player(full, 0)
    assert filler.start() is None
    store = filler._store
    assert store is not None
    for move in range(MAX_LOWERED):
        key = (move, None, 0, 0)
        assert full.keep(key, full.lower(store, key))
    filler.close()
    a, b = pair(full)
    with native_loop(True):
        played = play_match(RPS, a, b, rounds=9, seed=5)
    assert (a.seats, b.seats, a.mover_calls, b.mover_calls) == (0, 0, 9, 9)
    reference = pair(ComponentCalls())
    with native_loop(True):
        assert_same(played, play_match(RPS, *reference, rounds=9, seed=5))
    assert (reference[0].seats, reference[1].seats) == (1, 1)
    full.close()
