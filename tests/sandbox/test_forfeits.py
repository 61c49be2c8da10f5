"""Every guest failure becomes a recorded forfeit with a reason; the engine never crashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sandbox.conftest import Build
from tests.wasm_builders import add_wit_dependency, build_component, copy_wit, core_wat
from tournament.orchestration.local import play_local_match
from tournament.rules.forfeits import ForfeitReason
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.runtime import SandboxRuntime

FAST = SandboxLimits(fuel_per_move=200_000, setup_fuel=2_000_000, timeout_ms=1_000, memory_bytes=8 << 20)


@pytest.fixture
def rock(wat_component: Build) -> bytes:
    return wat_component("i32.const 0")


def test_infinite_loop_forfeits_each_round_for_fuel_and_restarts(
    wat_component: Build, rock: bytes, runtime: SandboxRuntime
) -> None:
    looping = wat_component("(loop $forever br $forever) i32.const 0")
    played = play_local_match(looping, rock, rounds=3, limits=FAST, runtime=runtime)
    assert [r.forfeit_a for r in played.rounds] == [ForfeitReason.FUEL] * 3
    assert all(r.fuel_a == FAST.fuel_per_move for r in played.rounds)
    assert played.first_forfeit_a is not None
    assert played.first_forfeit_a.detail == "fuel budget exhausted"
    assert played.score.forfeits_a == 3
    assert played.score.total_b == 3


def test_fuel_forfeit_loses_only_that_round(
    wat_component: Build, rock: bytes, runtime: SandboxRuntime
) -> None:
    # Loops only on round 3; after the restart `begin` reports first-round 4 and play resumes (paper = 1).
    once = wat_component("local.get $r i32.const 3 i32.eq (if (then (loop $l br $l))) i32.const 1")
    played = play_local_match(once, rock, rounds=8, limits=FAST, runtime=runtime)
    assert [r.forfeit_a for r in played.rounds] == [
        None,
        None,
        None,
        ForfeitReason.FUEL,
        None,
        None,
        None,
        None,
    ]
    assert [r.move_a for r in played.rounds] == [1, 1, 1, None, 1, 1, 1, 1]
    assert played.score.wins_a == 7


def test_wall_clock_backstop_forfeits_with_timeout(
    wat_component: Build, rock: bytes, runtime: SandboxRuntime
) -> None:
    looping = wat_component("(loop $forever br $forever) i32.const 0")
    generous_fuel = SandboxLimits(fuel_per_move=10**15, setup_fuel=10**15, timeout_ms=50)
    played = play_local_match(looping, rock, rounds=2, limits=generous_fuel, runtime=runtime)
    assert [r.forfeit_a for r in played.rounds] == [ForfeitReason.TIMEOUT] * 2
    assert played.rounds[0].move_b == 0


def test_memory_growth_past_the_cap_forfeits_with_memory(
    wat_component: Build, rock: bytes, runtime: SandboxRuntime
) -> None:
    # Grows until refused, then touches the page it did not get.
    bomb = wat_component(
        "(block $full (loop $grow i32.const 16 memory.grow i32.const -1 i32.eq br_if $full br $grow))"
        " memory.size i32.const 65536 i32.mul i32.const 1 i32.add i32.const 7 i32.store i32.const 0"
    )
    played = play_local_match(bomb, rock, rounds=4, limits=FAST, runtime=runtime)
    assert [r.forfeit_a for r in played.rounds] == [ForfeitReason.MEMORY] * 4
    assert played.first_forfeit_a is not None
    assert "memory" in played.first_forfeit_a.detail


def test_initial_memory_above_the_cap_forfeits_with_memory(
    wat_component: Build, rock: bytes, runtime: SandboxRuntime
) -> None:
    huge = wat_component("i32.const 0", pages=1024)  # 64 MiB against an 8 MiB cap
    played = play_local_match(huge, rock, rounds=2, limits=FAST, runtime=runtime)
    assert [r.forfeit_a for r in played.rounds] == [ForfeitReason.MEMORY] * 2


def test_deep_recursion_traps_and_ends_the_match(
    wat_component: Build, rock: bytes, runtime: SandboxRuntime
) -> None:
    recursive = wat_component(
        "local.get $r i32.const 2 i32.eq (if (then call $deep)) i32.const 1",
        extra="(func $deep call $deep)",
    )
    generous = SandboxLimits(fuel_per_move=10**9)
    played = play_local_match(recursive, rock, rounds=5, limits=generous, runtime=runtime)
    assert [r.forfeit_a for r in played.rounds] == [None, None] + [ForfeitReason.TRAP] * 3
    assert played.first_forfeit_a is not None
    assert played.first_forfeit_a.detail == "call stack exhausted"
    assert [r.fuel_a for r in played.rounds[3:]] == [0, 0]


def test_unreachable_mid_match_loses_the_rest(
    wat_component: Build, rock: bytes, runtime: SandboxRuntime
) -> None:
    trapping = wat_component("local.get $r i32.const 500 i32.eq (if (then unreachable)) i32.const 1")
    played = play_local_match(trapping, rock, rounds=1000, runtime=runtime)
    assert played.score.wins_a == 500
    assert played.score.forfeits_a == 500
    assert {r.forfeit_a for r in played.rounds[500:]} == {ForfeitReason.TRAP}
    assert played.first_forfeit_a is not None
    assert played.first_forfeit_a.detail == "wasm `unreachable` instruction executed"


def test_out_of_range_move_loses_the_round_only(
    wat_component: Build, rock: bytes, runtime: SandboxRuntime
) -> None:
    # Round 0: 7 (illegal for rps), then paper.
    sometimes = wat_component("local.get $r (if (result i32) (then i32.const 1) (else i32.const 7))")
    played = play_local_match(sometimes, rock, rounds=4, runtime=runtime)
    assert [r.forfeit_a for r in played.rounds] == [ForfeitReason.ILLEGAL_MOVE, None, None, None]
    assert played.first_forfeit_a is not None
    assert played.first_forfeit_a.detail == "move 7 is not one of 0..2"
    assert [r.payoff_a for r in played.rounds] == [-1, 1, 1, 1]


def test_forbidden_wasi_import_is_a_bad_component(
    tmp_path: Path, rock: bytes, runtime: SandboxRuntime
) -> None:
    wit = copy_wit(tmp_path / "wit", extra_world_lines="    import wasi:random/random@0.2.0;")
    add_wit_dependency(
        wit, "random", "package wasi:random@0.2.0;\ninterface random { get-random-u64: func() -> u64; }\n"
    )
    wat = core_wat(
        "call $entropy i32.wrap_i64 i32.const 3 i32.rem_u",
        imports='(import "wasi:random/random@0.2.0" "get-random-u64" (func $entropy (result i64)))',
    )
    sneaky = build_component(wat, tmp_path / "build", wit_dir=wit)
    played = play_local_match(sneaky, rock, rounds=3, runtime=runtime)
    assert played.first_forfeit_a is not None
    assert played.first_forfeit_a.reason is ForfeitReason.BAD_COMPONENT
    assert played.first_forfeit_a.detail == "imports outside the allow-list: wasi:random/random@0.2.0"
    assert played.score.forfeits_a == 3


def test_wrong_world_version_is_a_bad_component(tmp_path: Path, rock: bytes, runtime: SandboxRuntime) -> None:
    future = build_component(
        core_wat(version="2.0.0"), tmp_path / "build", wit_dir=copy_wit(tmp_path / "wit", version="2.0.0")
    )
    played = play_local_match(future, rock, rounds=2, runtime=runtime)
    assert played.first_forfeit_a is not None
    assert played.first_forfeit_a.reason is ForfeitReason.BAD_COMPONENT
    assert "incompatible version 2.0.0" in played.first_forfeit_a.detail


def test_compatible_minor_version_is_accepted(tmp_path: Path, rock: bytes, runtime: SandboxRuntime) -> None:
    newer = build_component(
        core_wat(version="1.3.0"), tmp_path / "build", wit_dir=copy_wit(tmp_path / "wit", version="1.3.0")
    )
    played = play_local_match(newer, rock, rounds=2, runtime=runtime)
    assert played.first_forfeit_a is None
    assert played.score.draws == 2


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"", "not a WebAssembly binary"),
        (b"\0asm\x0d\x00\x01\x00garbage", "does not compile"),
        (b"\0asm\x01\x00\x00\x00", "does not compile"),
    ],
)
def test_malformed_bytes_are_a_bad_component(
    data: bytes, detail: str, rock: bytes, runtime: SandboxRuntime
) -> None:
    played = play_local_match(data, rock, rounds=2, runtime=runtime)
    assert played.first_forfeit_a is not None
    assert played.first_forfeit_a.reason is ForfeitReason.BAD_COMPONENT
    assert played.first_forfeit_a.detail.startswith(detail)
    assert "\n" not in played.first_forfeit_a.detail


def test_wrong_signature_shows_expected_and_found(
    tmp_path: Path, rock: bytes, runtime: SandboxRuntime
) -> None:
    wit = copy_wit(tmp_path / "wit")
    text = (wit / "strategy.wit").read_text().replace("-> move;", "-> s64;")
    (wit / "strategy.wit").write_text(text)
    wat = core_wat("i64.const 0").replace(
        "(param i32 i32 i32 i32 i32 i32 i32) (result i32)", "(param i32 i32 i32 i32 i32 i32 i32) (result i64)"
    )
    wrong = build_component(wat, tmp_path / "build", wit_dir=wit)
    played = play_local_match(wrong, rock, rounds=1, runtime=runtime)
    assert played.first_forfeit_a is not None
    detail = played.first_forfeit_a.detail
    assert "export next-move has the wrong signature" in detail
    assert detail.endswith(
        "-> u32, found func(last: option<record{my-move: option<u32>, their-move: option<u32>, "
        "my-payoff: s32, their-payoff: s32}>) -> s64"
    )


def test_log_lines_are_captured_and_capped(
    wat_component: Build, rock: bytes, runtime: SandboxRuntime
) -> None:
    chatty = wat_component(
        "i32.const 100 i32.const 5 call $log i32.const 0",
        imports='(import "tournament:strategy/host@1.0.0" "log" (func $log (param i32 i32)))',
        extra='(data (i32.const 100) "hello")',
    )
    limits = SandboxLimits(log_lines=3)
    played = play_local_match(chatty, rock, rounds=10, limits=limits, runtime=runtime)
    assert played.logs == (("a", 0, "hello"), ("a", 1, "hello"), ("a", 2, "hello"))
    assert played.first_forfeit_a is None


def test_a_failure_never_affects_the_opponent(
    wat_component: Build, rock: bytes, runtime: SandboxRuntime
) -> None:
    trapping = wat_component("unreachable")
    played = play_local_match(rock, trapping, rounds=50, runtime=runtime)
    assert all(r.forfeit_a is None and r.move_a == 0 for r in played.rounds)
    assert played.score.forfeits_b == 50
    assert played.score.outcome == "a"
