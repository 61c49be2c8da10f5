"""Rust strategies: Debian's rustc and cargo (no rustup, no crates), `wasm32-unknown-unknown`, wasm-tools.

Only the Debian binaries are used, by absolute path: a rustup toolchain on PATH usually lacks the wasm32
target and cannot download it offline.
"""

from __future__ import annotations

import os
from pathlib import Path

from tournament.authoring.scaffold import StrategyProject
from tournament.authoring.toolchains.common import (
    BuildError,
    Say,
    apt_install,
    componentize_core,
    is_root,
    run,
)

CARGO = Path("/usr/bin/cargo")
RUSTC = Path("/usr/bin/rustc")
WASM32_STD = Path("/usr/lib/rustlib/wasm32-unknown-unknown")
PACKAGES = ("rustc", "cargo", "libstd-rust-dev-wasm32", "lld-14")
TARGET = "wasm32-unknown-unknown"
LIBRARY = "strategy"  # [lib] name in the template's Cargo.toml


def ensure(say: Say) -> None:
    if CARGO.is_file() and RUSTC.is_file() and WASM32_STD.is_dir():
        return
    command = f"apt-get install -y {' '.join(PACKAGES)}"
    if not is_root():
        raise BuildError(f"the Rust toolchain for wasm32 is missing; install it with: sudo {command}")
    apt_install(PACKAGES, "the Rust toolchain for wasm32 (Debian rustc, cargo, wasm32 std, lld)", say)
    if not WASM32_STD.is_dir():
        raise BuildError(f"{WASM32_STD} is still missing after `{command}`")


def build(project: StrategyProject, work: Path, say: Say) -> Path:
    if not (project.directory / "Cargo.toml").is_file():
        raise BuildError(f"{project.directory / 'Cargo.toml'} not found")
    ensure(say)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("RUSTUP_", "CARGO_BUILD_"))},
        "RUSTC": str(RUSTC),
        "PATH": f"/usr/bin:{os.environ.get('PATH', '')}",
    }
    target_dir = project.directory / "target"  # kept between builds: the next one is incremental
    run(
        "cargo build",
        [CARGO, "build", "--offline", "--release", "--target", TARGET, "--target-dir", target_dir],
        cwd=project.directory,
        env=env,
    )
    core = target_dir / TARGET / "release" / f"{LIBRARY}.wasm"
    if not core.is_file():
        raise BuildError(f'cargo build did not produce {core} (is [lib] name = "{LIBRARY}" in Cargo.toml?)')
    return componentize_core(core, project.directory / "wit", work, say)
