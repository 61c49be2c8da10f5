"""Build small test components from core-module WAT with the real toolchain (wasm-tools).

Misbehaving strategies (infinite loops, memory bombs, traps, bad moves, forbidden imports) are a few
lines each; everything else (allocator, signatures) comes from one template matching wit/strategy.wit.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WIT_DIR = REPO / "wit"
BUILD_DIR = REPO / "strategies" / "build"
WASM_TOOLS = Path(sys.executable).with_name("wasm-tools")


TEMPLATE = """
(module
  {imports}
  (memory (export "memory") {pages})
  (global $bump (mut i32) (i32.const 1024))
  (global $first (mut i32) (i32.const 0))
  (global $calls (mut i32) (i32.const 0))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    global.get $bump
    local.get 2 i32.add i32.const 1 i32.sub
    local.get 2 i32.const 1 i32.sub i32.const -1 i32.xor i32.and
    local.tee $p
    local.get 3 i32.add global.set $bump
    (block $done (loop $grow
      global.get $bump memory.size i32.const 65536 i32.mul i32.le_u br_if $done
      i32.const 1 memory.grow i32.const -1 i32.eq (if (then unreachable))
      br $grow))
    local.get $p)
  (func (export "{begin}") (param i32 i32 i32 i32 i32 i32 i64 i64 i32 i32 i32)
    local.get 10 global.set $first
    {begin_body})
  (func $round (result i32) global.get $first global.get $calls i32.add)
  (func (export "{next_move}") (param i32 i32 i32 i32 i32 i32 i32) (result i32)
    (local $r i32)
    call $round local.set $r
    global.get $calls i32.const 1 i32.add global.set $calls
    {move_body})
  {extra}
)
"""


def core_wat(
    move_body: str = "i32.const 0",
    *,
    begin_body: str = "",
    imports: str = "",
    extra: str = "",
    pages: int = 1,
    version: str = "1.0.0",
) -> str:
    """A core module implementing the contract; `move_body` leaves the move on the stack ($r = round)."""
    return TEMPLATE.format(
        imports=imports,
        pages=pages,
        begin=f"tournament:strategy/player@{version}#begin",
        next_move=f"tournament:strategy/player@{version}#next-move",
        begin_body=begin_body,
        move_body=move_body,
        extra=extra,
    )


def build_component(wat: str, workdir: Path, *, wit_dir: Path = WIT_DIR, world: str = "strategy") -> bytes:
    """Embed the WIT into the core module and wrap it as a component, exactly as authors do."""
    workdir.mkdir(parents=True, exist_ok=True)
    core = workdir / "core.wat"
    core.write_text(wat)
    embedded = workdir / "embedded.wasm"
    component = workdir / "component.wasm"
    _run(str(WASM_TOOLS), "component", "embed", str(wit_dir), "-w", world, str(core), "-o", str(embedded))
    _run(str(WASM_TOOLS), "component", "new", str(embedded), "-o", str(component))
    return component.read_bytes()


def copy_wit(destination: Path, *, version: str = "1.0.0", extra_world_lines: str = "") -> Path:
    """A copy of the contract, optionally at another version or with extra world imports."""
    destination.mkdir(parents=True, exist_ok=True)
    text = (WIT_DIR / "strategy.wit").read_text().replace("@1.0.0;", f"@{version};", 1)
    if extra_world_lines:
        text = text.replace("world strategy {", "world strategy {\n" + extra_world_lines, 1)
    (destination / "strategy.wit").write_text(text)
    return destination


def add_wit_dependency(wit_dir: Path, package_dir: str, text: str) -> None:
    deps = wit_dir / "deps" / package_dir
    deps.mkdir(parents=True, exist_ok=True)
    (deps / "package.wit").write_text(text)


def _run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()}")


def have_wasm_tools() -> bool:
    return WASM_TOOLS.exists() or shutil.which("wasm-tools") is not None
