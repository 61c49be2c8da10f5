"""The host's view of the contract agrees with wit/strategy.wit, and compiled artifacts are reused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.sandbox.conftest import Build
from tests.wasm_builders import WIT_DIR, build_component, copy_wit, core_wat
from tournament.sandbox import contract, verdicts
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.errors import BadComponentError
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


def _verdict(runtime: SandboxRuntime, digest: str) -> Path:
    checker = verdicts.checker_identity()
    assert checker is not None
    return runtime.cache.directory / f"{digest}.pure.{checker}.contract.json"


def test_a_passing_verdict_is_recorded_and_reused(wat_component: Build, tmp_path: Path) -> None:
    """The second runtime takes the recorded verdict instead of checking again: a verdict edited on disk
    (which only the cache's owner can do) is what it reports."""
    data = wat_component("i32.const 3")
    digest = content_hash(data)
    with SandboxRuntime(cache_dir=tmp_path) as first:
        report = first.prepare(data)
        path = _verdict(first, digest)
        assert json.loads(path.read_text()) == {
            "player_interface": report.player_interface,
            "wit_version": "1.0.0",
            "imports": list(report.imports),
            "uses_wasi": False,
        }
    path.write_text(path.read_text().replace('"1.0.0"', '"1.0.7"'))
    with SandboxRuntime(cache_dir=tmp_path) as second:
        reused = second.prepare_cached(digest)
        assert reused is not None
        assert reused.wit_version == "1.0.7"
        other = wat_component("i32.const 4")
        second.prepare(other)  # a component that passed shares the call state, as if checked here
        assert second.shared_calls(digest) is second.shared_calls(content_hash(other))


@pytest.mark.parametrize(
    "content",
    ["not json", "{}", '{"player_interface": 1, "wit_version": "1.0.0", "imports": [], "uses_wasi": false}',
     '{"player_interface": "p", "wit_version": "1.0.0", "imports": [], "uses_wasi": true}'],
)  # fmt: skip
def test_an_unreadable_or_unfit_verdict_is_ignored_and_the_check_runs(
    wat_component: Build, tmp_path: Path, content: str
) -> None:
    data = wat_component("i32.const 5")
    with SandboxRuntime(cache_dir=tmp_path) as first:
        first.prepare(data)
        _verdict(first, content_hash(data)).write_text(content)
    with SandboxRuntime(cache_dir=tmp_path) as second:
        report = second.prepare_cached(content_hash(data))
        assert report is not None
        assert report.player_interface == contract.PLAYER_INTERFACE
        assert not report.uses_wasi


def test_failures_are_never_recorded(tmp_path: Path) -> None:
    data = build_component(
        core_wat(version="2.0.0"), tmp_path / "build", wit_dir=copy_wit(tmp_path / "wit", version="2.0.0")
    )
    for _ in range(2):
        with SandboxRuntime(cache_dir=tmp_path) as runtime, pytest.raises(BadComponentError):
            runtime.prepare(data)
    assert not list(tmp_path.rglob("*.contract.json"))


def test_verdicts_are_keyed_by_the_checker_and_the_wasi_choice(wat_component: Build, tmp_path: Path) -> None:
    data = wat_component("i32.const 6")
    digest = content_hash(data)
    with SandboxRuntime(cache_dir=tmp_path) as first:
        first.prepare(data)
        first.prepare(data, allow_wasi=True)
        checker = verdicts.checker_identity()
        names = sorted(path.name for path in first.cache.directory.glob("*.contract.json"))
        assert names == [f"{digest}.pure.{checker}.contract.json", f"{digest}.wasi.{checker}.contract.json"]
        stale = first.cache.directory / f"{digest}.pure.0000000000000000.contract.json"
        _verdict(first, digest).rename(stale)
        stale.write_text(stale.read_text().replace('"1.0.0"', '"1.0.7"'))
    with SandboxRuntime(cache_dir=tmp_path) as second:
        report = second.prepare_cached(digest)
        assert report is not None
        assert report.wit_version == "1.0.0"  # checked afresh: another checker's verdict does not count
