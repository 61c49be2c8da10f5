"""Purpose-built components for every way validation can reject one, each a few lines of WAT.

Built with the real toolchain (`wasm-tools component embed` + `new`) from the contract's WIT, edited where
a test needs a component that does not fit it.
"""

from __future__ import annotations

from pathlib import Path

import wasmtime

from tests.wasm_builders import add_wit_dependency, build_component, copy_wit, core_wat

BEGIN_EXPORT = '(export "tournament:strategy/player@1.0.0#begin")'
NEXT_MOVE_EXPORT = '(export "tournament:strategy/player@1.0.0#next-move")'
LOG_IMPORT = '(import "tournament:strategy/host@1.0.0" "log" (func $log (param i32 i32)))'
RANDOM_WIT = "package wasi:random@0.2.0;\ninterface random { get-random-u64: func() -> u64; }\n"
INSECURE_WIT = (
    "package wasi:random@0.2.0;\n"
    "interface random { get-random-u64: func() -> u64; }\n"
    "interface insecure { get-insecure-random-u64: func() -> u64; }\n"
)


def playing(workdir: Path, move_body: str = "i32.const 0", **kwargs: object) -> bytes:
    """A component that fits the contract; `move_body` leaves the move on the stack ($r is the round)."""
    return build_component(core_wat(move_body, **kwargs), workdir)  # type: ignore[arg-type]


def core_module() -> bytes:
    """A core module implementing the contract's functions, never wrapped as a component."""
    return bytes(wasmtime.wat2wasm(core_wat()))


def wrong_version(workdir: Path, version: str = "2.0.0") -> bytes:
    wit = copy_wit(workdir / "wit", version=version)
    return build_component(core_wat(version=version), workdir / "build", wit_dir=wit)


def missing_begin(workdir: Path) -> bytes:
    wit = copy_wit(workdir / "wit")
    text = (wit / "strategy.wit").read_text().replace("begin: func(setup: match-setup);", "")
    (wit / "strategy.wit").write_text(text)
    return build_component(core_wat().replace(BEGIN_EXPORT, ""), workdir / "build", wit_dir=wit)


def no_player(workdir: Path) -> bytes:
    wit = copy_wit(workdir / "wit")
    text = (wit / "strategy.wit").read_text().replace("export player;", "")
    (wit / "strategy.wit").write_text(text)
    wat = core_wat().replace(BEGIN_EXPORT, "").replace(NEXT_MOVE_EXPORT, "")
    return build_component(wat, workdir / "build", wit_dir=wit)


def wrong_signature(workdir: Path) -> bytes:
    """`next-move` returns s64 instead of move (u32)."""
    wit = copy_wit(workdir / "wit")
    text = (wit / "strategy.wit").read_text().replace("-> move;", "-> s64;")
    (wit / "strategy.wit").write_text(text)
    wat = core_wat("i64.const 0").replace(
        "(param i32 i32 i32 i32 i32 i32 i32) (result i32)", "(param i32 i32 i32 i32 i32 i32 i32) (result i64)"
    )
    return build_component(wat, workdir / "build", wit_dir=wit)


def wasi_random(workdir: Path) -> bytes:
    """Moves drawn from `wasi:random/random`: forbidden by default, non-deterministic when allowed."""
    wit = copy_wit(workdir / "wit", extra_world_lines="    import wasi:random/random@0.2.0;")
    add_wit_dependency(wit, "random", RANDOM_WIT)
    wat = core_wat(
        "call $entropy i32.wrap_i64 i32.const 3 i32.rem_u",
        imports='(import "wasi:random/random@0.2.0" "get-random-u64" (func $entropy (result i64)))',
    )
    return build_component(wat, workdir / "build", wit_dir=wit)


def two_forbidden_imports(workdir: Path) -> bytes:
    """Imports `wasi:random/random` and `wasi:random/insecure`."""
    wit = copy_wit(
        workdir / "wit",
        extra_world_lines="    import wasi:random/random@0.2.0;\n    import wasi:random/insecure@0.2.0;",
    )
    add_wit_dependency(wit, "random", INSECURE_WIT)
    wat = core_wat(
        "call $a call $b i64.add i32.wrap_i64 i32.const 3 i32.rem_u",
        imports='(import "wasi:random/random@0.2.0" "get-random-u64" (func $a (result i64)))\n'
        '(import "wasi:random/insecure@0.2.0" "get-insecure-random-u64" (func $b (result i64)))',
    )
    return build_component(wat, workdir / "build", wit_dir=wit)


def log_with_wrong_signature(workdir: Path) -> bytes:
    """Imports the host's `log` as `func(level: u32)`."""
    wit = copy_wit(workdir / "wit")
    text = (wit / "strategy.wit").read_text().replace("log: func(message: string);", "log: func(level: u32);")
    (wit / "strategy.wit").write_text(text)
    wat = core_wat(
        "i32.const 1 call $log i32.const 0",
        imports='(import "tournament:strategy/host@1.0.0" "log" (func $log (param i32)))',
    )
    return build_component(wat, workdir / "build", wit_dir=wit)


def logging(workdir: Path, every: int = 1) -> bytes:
    """Plays paper and logs `hello` every `every` rounds."""
    return playing(
        workdir,
        f"local.get $r i32.const {every} i32.rem_u i32.eqz"
        " (if (then i32.const 100 i32.const 5 call $log)) i32.const 1",
        imports=LOG_IMPORT,
        extra='(data (i32.const 100) "hello")',
    )
