"""The host's view of the contract agrees with wit/strategy.wit, and compiled artifacts are reused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.sandbox.conftest import Build
from tests.wasm_builders import WIT_DIR
from tournament.sandbox import contract
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.runtime import SandboxRuntime


def test_wit_package_version_matches_the_host() -> None:
    text = (WIT_DIR / "strategy.wit").read_text()
    assert re.search(r"^package tournament:strategy@(\S+);", text, re.M)[1] == contract.VERSION_TEXT  # type: ignore[index]
    assert "begin: func(setup: match-setup);" in text
    assert "next-move: func(last: option<round-result>) -> move;" in text
    assert "log: func(message: string);" in text
    assert "init" not in re.findall(r"(\S+): func", text)


def test_a_valid_component_passes_the_check(wat_component: Build, runtime: SandboxRuntime) -> None:
    report = runtime.prepare(wat_component("i32.const 0"))
    assert report.player_interface == contract.PLAYER_INTERFACE
    assert report.wit_version == "1.0.0"
    assert not report.uses_wasi


@pytest.mark.parametrize(
    ("version", "compatible"),
    [((1, 0, 0), True), ((1, 4, 2), True), ((2, 0, 0), False), ((0, 9, 0), False), (None, False)],
)
def test_semver_compatibility(version: tuple[int, int, int] | None, compatible: bool) -> None:
    assert contract.is_compatible(version) is compatible


def test_second_runtime_loads_the_artifact_instead_of_compiling(wat_component: Build, tmp_path: Path) -> None:
    data = wat_component("i32.const 2")
    with SandboxRuntime(cache_dir=tmp_path) as first:
        first.prepare(data)
        assert (first.cache.compiled, first.cache.loaded_from_disk) == (1, 0)
        first.prepare(data)
        assert first.cache.compiled == 1
        artifact = first.cache.path_for(content_hash(data))
        assert artifact.exists()
    with SandboxRuntime(cache_dir=tmp_path) as second:
        assert second.prepare_cached(content_hash(data)) is not None
        assert (second.cache.compiled, second.cache.loaded_from_disk) == (0, 1)


def test_artifacts_are_keyed_by_engine_settings(wat_component: Build, tmp_path: Path) -> None:
    data = wat_component("i32.const 1")
    with (
        SandboxRuntime(cache_dir=tmp_path) as default,
        SandboxRuntime(1 << 20, cache_dir=tmp_path) as big_stack,
    ):
        default.prepare(data)
        big_stack.prepare(data)
        assert default.cache.directory != big_stack.cache.directory
        assert big_stack.cache.compiled == 1


def test_a_corrupt_artifact_is_recompiled_not_trusted(wat_component: Build, tmp_path: Path) -> None:
    data = wat_component("i32.const 1")
    with SandboxRuntime(cache_dir=tmp_path) as first:
        first.prepare(data)
        first.cache.path_for(content_hash(data)).write_bytes(b"not an artifact")
    with SandboxRuntime(cache_dir=tmp_path) as second:
        second.prepare(data)
        assert second.cache.compiled == 1
