"""The match loop's object-free path plays exactly the matches the generic path plays.

`play_match` takes the keyed path (`KeyedPlayer.move`, rows in a `RoundLog`) when both players have it and
the generic one (`next_move`, `RoundRecord`s) otherwise; the same components, seeds and noise must give
identical rounds, scores, forfeits and logs either way, including every kind of forfeit.
"""

from __future__ import annotations

import pickle

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
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.player import LogBuffer, MoveResult, PlayerSetup
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
    digests = []
    for data in (a, b):
        runtime.prepare(data)
        digests.append(content_hash(data))

    def players() -> list[Player]:
        return [
            runtime.player(digest, PlayerSetup(game.name, game.moves, rounds, seed + side, side), limits)
            for side, digest in enumerate(digests)
        ]

    keyed_a, keyed_b = players()
    assert isinstance(keyed_a, KeyedPlayer)
    keyed = play_match(game, keyed_a, keyed_b, rounds=rounds, seed=seed, noise=noise)
    generic_a, generic_b = (Generic(p) for p in players())
    assert not isinstance(generic_a, KeyedPlayer)
    generic = play_match(game, generic_a, generic_b, rounds=rounds, seed=seed, noise=noise)
    assert isinstance(keyed.rounds, RoundLog)
    assert isinstance(generic.rounds, tuple)
    return keyed, generic


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
