"""C strategies: Zig's clang (PyPI `ziglang`) on the hand-written runtime `strategy.h`, then wasm-tools."""

from __future__ import annotations

from pathlib import Path

from tournament.authoring.scaffold import StrategyProject
from tournament.authoring.toolchains.common import BuildError, Say, componentize_core, python_module, run

FLAGS = (
    "--target=wasm32-freestanding",
    "-nostdlib",
    "-Os",
    "-s",
    "-Wall",
    "-Wextra",
    "-Wl,--no-entry",
    "-Wl,-z,stack-size=16384",  # Zig's default 16 MiB stack would make every instance big
)


def build(project: StrategyProject, work: Path, say: Say) -> Path:
    sources = sorted(project.directory.glob("*.c"))
    if not sources:
        raise BuildError(f"no .c files in {project.directory}")
    core = work / "core.wasm"
    zig = [*python_module("ziglang", "ziglang>=0.13", say), "cc", *FLAGS]
    run("zig cc", [*zig, *sources, "-o", core], cwd=project.directory)
    return componentize_core(core, project.directory / "wit", work, say)
