"""Misbehaving strategies in a real tournament: every failure is recorded with its reason, nothing crashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli, tournament_id
from tests.wasm_builders import add_wit_dependency, build_component, copy_wit, core_wat


@pytest.fixture
def evil_field(cli: Cli, tmp_path: Path) -> Cli:
    wit = copy_wit(tmp_path / "wit", extra_world_lines="    import wasi:random/random@0.2.0;")
    add_wit_dependency(
        wit, "random", "package wasi:random@0.2.0;\ninterface random { get-random-u64: func() -> u64; }\n"
    )
    components = {
        "looper": build_component(core_wat("(loop $l br $l) i32.const 0"), tmp_path / "looper"),
        "trapper": build_component(
            core_wat("local.get $r i32.const 10 i32.eq (if (then unreachable)) i32.const 1"),
            tmp_path / "trapper",
        ),
        "out-of-range": build_component(core_wat("i32.const 3"), tmp_path / "oor"),
        "memory-bomb": build_component(
            core_wat(
                "(block $full (loop $grow i32.const 64 memory.grow i32.const -1 i32.eq br_if $full br $grow))"
                " memory.size i32.const 65536 i32.mul i32.const 7 i32.store i32.const 0"
            ),
            tmp_path / "bomb",
        ),
        "entropy": build_component(
            core_wat(
                "call $e i32.wrap_i64 i32.const 3 i32.rem_u",
                imports='(import "wasi:random/random@0.2.0" "get-random-u64" (func $e (result i64)))',
            ),
            tmp_path / "entropy",
            wit_dir=wit,
        ),
        "garbage": b"\0asm\x0d\x00\x01\x00not a component",
    }
    for name, data in components.items():
        cli.add_strategy(name, data)
    return cli


@pytest.mark.slow
def test_every_forfeit_reason_is_recorded_through_a_tournament(evil_field: Cli) -> None:
    cli = evil_field
    field = "looper,trapper,out-of-range,memory-bomb,entropy,garbage,constant"
    result = cli("run", "--rounds", "20", "--seed", "1", "--strategies", field, "--workers", "2",
                 "--fuel-per-move", "100000", "--memory-mb", "16")  # fmt: skip
    tid = tournament_id(result)
    rows = cli.rows(tid)
    reasons: dict[str, set[str]] = {}
    for row in rows:
        for side in ("a", "b"):
            if row[f"forfeit_{side}"]:
                reasons.setdefault(row[f"player_{side}"], set()).add(row[f"forfeit_{side}"])
    assert reasons == {
        "looper": {"fuel"},
        "trapper": {"trap"},
        "out-of-range": {"illegal-move"},
        "memory-bomb": {"memory"},
        "entropy": {"bad-component"},
        "garbage": {"bad-component"},
    }
    trapper_rows = [r for r in rows if "trapper" in (r["player_a"], r["player_b"])]
    for row in trapper_rows:
        side = "a" if row["player_a"] == "trapper" else "b"
        assert bool(row[f"forfeit_{side}"]) == (int(row["round"]) >= 10)
    standings = {s["strategy"]: s for s in cli.json("standings", str(tid))}
    assert standings["constant"]["forfeits"] == 0
    assert standings["garbage"]["forfeits"] == 6 * 20


def test_wall_clock_timeout_is_recorded(evil_field: Cli) -> None:
    cli = evil_field
    result = cli("run", "--rounds", "2", "--seed", "1", "--strategies", "looper,constant", "--workers", "1",
                 "--fuel-per-move", "1000000000000000", "--timeout-ms", "30")  # fmt: skip
    rows = cli.rows(tournament_id(result))
    assert [r["forfeit_a"] or r["forfeit_b"] for r in rows] == ["timeout", "timeout"]
