"""The match loop's object-free paths play exactly the matches the generic path plays.

`play_match` takes the keyed path (`KeyedPlayer.move`, rows in a `RoundLog`) when both players have it and
the generic one (`next_move`, `RoundRecord`s) otherwise. Without noise, the keyed path starts in a loop
specialised for rounds with two legal moves (the players' `mover` functions called directly) and hands
over to its general loop at the first forfeit or illegal move. The same components, seeds and noise must
give identical rounds (fuel included), scores, forfeits and logs on every path, over the fast and the
stock call, including every kind of forfeit.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.sandbox.conftest import Build
from tests.wasm_builders import BUILD_DIR
from tournament.orchestration.match import ForfeitingPlayer, KeyedPlayer, MatchPlayed, Player, play_match
from tournament.rules.forfeits import ForfeitReason
from tournament.rules.games import IPD, RPS, Game
from tournament.rules.records import RoundLog, RoundRecord
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.fastcall import MoveTuple, RoundKey
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.player import LogBuffer, MoveResult, PlayerSetup, WasmPlayer
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


PATHS = ("specialised", "keyed", "generic", "stock call")


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
) -> dict[str, MatchPlayed]:
    """The same match on every path: `specialised` (the loop for clean rounds, then the general one),
    `keyed` (the general keyed loop only), `generic` (records), and `stock call` (the specialised loop
    over wasmtime-py's stock `Func.__call__` instead of the fast call)."""
    digests = []
    for data in (a, b):
        runtime.prepare(data)
        digests.append(content_hash(data))

    def setup(side: int) -> PlayerSetup:
        return PlayerSetup(game.name, game.moves, rounds, seed + side, side)

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
    """(specialised, generic) after checking that every other path plays the same match."""
    played = all_paths(runtime, game, a, b, rounds=rounds, seed=seed, noise=noise, limits=limits)
    for path in ("keyed", "stock call"):
        assert_same(played[path], played["generic"])
    return played["specialised"], played["generic"]


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
    """A real player that counts how the match loop asked for its moves."""

    def __init__(self, player: WasmPlayer) -> None:
        self._player = player
        self.logs = player.logs
        self.mover_calls = 0
        self.move_calls = 0

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
