"""Building and loading the native match loop: cached by content, safe to build concurrently, optional.

That it plays matches exactly as the Python loops do is `test_match_paths.py`'s subject.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.wasm_builders import BUILD_DIR
from tournament.sandbox import native

needs_cc = pytest.mark.skipif(
    shutil.which(os.environ.get("CC") or "cc") is None, reason="no C compiler on this machine"
)


def test_disabled_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOURNAMENT_NATIVE", "0")
    assert native.rounds() is None


@needs_cc
def test_built_once_then_loaded_from_the_cache(tmp_path: Path) -> None:
    path = native.build(tmp_path)
    assert path == native.library_path(tmp_path)
    assert path.parent == tmp_path
    stat = path.stat()
    assert native.build(tmp_path) == path
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    assert native.load(tmp_path).path == path


@needs_cc
def test_concurrent_builds_leave_one_complete_library(tmp_path: Path) -> None:
    script = "import sys; from pathlib import Path; from tournament.sandbox import native; " + (
        "print(native.load(Path(sys.argv[1])).path)"
    )
    command = [sys.executable, "-c", script, str(tmp_path)]

    def build(_: int) -> str:
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()

    with ThreadPoolExecutor(3) as pool:
        paths = set(pool.map(build, range(3)))
    assert paths == {str(native.library_path(tmp_path))}
    assert [p.name for p in tmp_path.iterdir()] == [native.library_path(tmp_path).name]


def test_the_cache_name_follows_the_compiler(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CC", "cc")
    first = native.library_path(tmp_path)
    monkeypatch.setenv("CC", "clang")
    assert native.library_path(tmp_path) != first


def test_without_a_working_compiler_the_python_loop_plays(tmp_path: Path) -> None:
    """A compiler that fails: no library and no error, and a match still plays (in Python)."""
    script = f"""
import sys
from pathlib import Path
from tournament.orchestration.match import play_match
from tournament.rules.games import IPD
from tournament.sandbox import native
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.player import PlayerSetup
from tournament.sandbox.runtime import SandboxRuntime

assert native.rounds() is None
with SandboxRuntime(cache_dir=Path(sys.argv[1])) as runtime:
    data = Path({str(BUILD_DIR / "tit-for-tat.wasm")!r}).read_bytes()
    runtime.prepare(data)
    a, b = (runtime.player(content_hash(data), PlayerSetup("ipd", IPD.moves, 5, 1, side), SandboxLimits())
            for side in (0, 1))
    played = play_match(IPD, a, b, rounds=5, seed=1)
assert [r.move_a for r in played.rounds] == [0] * 5, played.rounds
assert native.rounds() is None
print("python loop")
"""
    environment = {**os.environ, "CC": "false", "TOURNAMENT_CACHE": str(tmp_path), "TOURNAMENT_NATIVE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "artifacts")],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "python loop"
    assert not list((tmp_path / "native").glob("*.so"))
    with pytest.raises(subprocess.CalledProcessError):
        _build_with(tmp_path / "other", "false")


def _build_with(directory: Path, compiler: str) -> Path:
    saved = os.environ.get("CC")
    os.environ["CC"] = compiler
    try:
        return native.build(directory)
    finally:
        if saved is None:
            del os.environ["CC"]
        else:
            os.environ["CC"] = saved


def test_a_missing_compiler_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="no C compiler"):
        _build_with(tmp_path, "no-such-compiler-here")


@needs_cc
def test_the_loop_refuses_bad_arguments(tmp_path: Path) -> None:
    """Defensive checks before anything is called: null pointers, no moves, too many moves."""
    loaded = native.load(tmp_path)
    empty = native.Side()
    out = native.Out()
    with pytest.raises(ValueError, match="refused"):
        loaded.play(empty, empty, 2, 0, 0, 1, -1, out)
