"""Validation in a limited child process: whatever the child suffers, the caller gets a report.

The Python built-in (18 MB, seconds of Cranelift work with a cold cache) stands in for a compile bomb:
with a fresh artifact cache and tiny limits, its compilation is killed for CPU time, memory or wall time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.authoring import bad_components as bad
from tests.wasm_builders import BUILD_DIR
from tournament.authoring.isolation import validate_isolated
from tournament.authoring.validation import (
    CheckStatus,
    ValidationPolicy,
    ValidationReport,
    ValidationSetupError,
)
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.runtime import SandboxRuntime

SLOW_TO_COMPILE = BUILD_DIR / "beat-frequent.wasm"


def killed_while_compiling(report: ValidationReport) -> str:
    assert [check.status for check in report.checks[:2]] == [CheckStatus.PASS, CheckStatus.FAIL]
    assert {check.detail for check in report.checks[2:]} == {"skipped: compiles failed"}
    return report.failures()[0]


def test_a_valid_component_passes_in_the_child(tmp_path: Path) -> None:
    report = validate_isolated((BUILD_DIR / "constant.wasm").read_bytes(), cache_dir=tmp_path)
    assert report.passed
    assert report.check("compiles").detail.startswith("compiled in ")
    assert report.deterministic is True
    assert report.fuel_max == 9


def test_the_child_fills_the_shared_artifact_cache(tmp_path: Path) -> None:
    data = bad.playing(tmp_path / "build", "i32.const 1")
    assert validate_isolated(data, cache_dir=tmp_path / "cache").passed
    with SandboxRuntime(cache_dir=tmp_path / "cache") as later:
        assert later.prepare_cached(content_hash(data)) is not None
        assert later.cache.compiled == 0


def test_a_bad_component_gets_the_same_reasons_as_in_process(tmp_path: Path) -> None:
    report = validate_isolated(bad.two_forbidden_imports(tmp_path / "build"), cache_dir=tmp_path / "cache")
    assert report.failures() == [
        "imports: imports outside the allow-list: wasi:random/insecure@0.2.0, wasi:random/random@0.2.0"
    ]
    allowed = validate_isolated(
        bad.wasi_random(tmp_path / "random"), ValidationPolicy(allow_wasi=True), cache_dir=tmp_path / "cache"
    )
    assert allowed.passed
    assert allowed.deterministic is False


def test_cpu_time_limit_kills_a_slow_compilation(tmp_path: Path) -> None:
    report = validate_isolated(SLOW_TO_COMPILE.read_bytes(), cpu_seconds=1, cache_dir=tmp_path)
    assert killed_while_compiling(report) == "compiles: validation process exceeded its CPU time limit (1 s)"
    assert not any(tmp_path.rglob("*.cwasm"))


def test_memory_limit_stops_a_hungry_compilation(tmp_path: Path) -> None:
    report = validate_isolated(SLOW_TO_COMPILE.read_bytes(), memory_bytes=200 << 20, cache_dir=tmp_path)
    assert killed_while_compiling(report) == "compiles: validation process ran out of memory (200 MiB)"


def test_wall_clock_limit(tmp_path: Path) -> None:
    report = validate_isolated(SLOW_TO_COMPILE.read_bytes(), wall_seconds=1, cache_dir=tmp_path)
    assert (
        killed_while_compiling(report) == "compiles: validation process exceeded its wall-clock limit (1 s)"
    )


def test_oversize_components_are_rejected_without_a_child(tmp_path: Path) -> None:
    report = validate_isolated(b"\0asm" + bytes(2000), ValidationPolicy(max_size=1024), wall_seconds=0)
    assert report.failures() == ["size: 2.0 KB is over the 1 KiB cap (2,004 > 1,024 bytes)"]
    assert report.check("compiles").detail == "skipped: size failed"


def test_setup_errors_are_raised_before_spawning() -> None:
    with pytest.raises(ValidationSetupError, match="unknown game 'go'"):
        validate_isolated(b"", ValidationPolicy(games=("go",)), wall_seconds=0)
