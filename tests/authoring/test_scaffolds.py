"""`tournament strategy new` and `build`, end to end: real CLI, real toolchains, real wasmtime.

Each supported language's scaffold is created in a fresh folder, built (installing its toolchain on first
use into the usual toolchain folder, so later runs reuse it), checked against the contract, and played:
the rps strategy beats `constant`, the ipd strategy plays tit-for-tat against `defector`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.wasm_builders import BUILD_DIR
from tournament.authoring.scaffold import LANGUAGES, read_project
from tournament.authoring.toolchains.common import install_once, toolchains_home
from tournament.orchestration.local import play_local_match
from tournament.rules.records import RoundRecord
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.player import PlayerSetup
from tournament.sandbox.runtime import SandboxRuntime

TOURNAMENT = Path(sys.executable).with_name("tournament")
BUILT = re.compile(r"^built (?P<path>\S+) \((?P<size>[\d,]+) bytes, sha256 (?P<sha>[0-9a-f]{64})\)$")


def cli(*args: str | Path, cwd: Path, expect: int = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(TOURNAMENT), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=900, check=False
    )
    if result.returncode != expect:
        raise AssertionError(
            f"tournament {' '.join(map(str, args))} exited {result.returncode}, expected {expect}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single `error: ...` line a bad request must produce (no traceback, nothing else)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxRuntime]:
    with SandboxRuntime(cache_dir=tmp_path_factory.mktemp("artifacts")) as shared:
        yield shared


# ---- every supported language, from `new` to a played match ------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("language", LANGUAGES)
def test_scaffold_builds_and_plays(language: str, tmp_path: Path, runtime: SandboxRuntime) -> None:
    name = f"my-{language}-bot"
    cli("strategy", "new", name, "--lang", language, "--games", "rps,ipd", cwd=tmp_path)
    project = tmp_path / name
    assert read_project(project).language == language
    assert (project / "README.md").is_file()

    built = cli("strategy", "build", name, cwd=tmp_path)
    match = BUILT.match(built.stdout.strip())
    assert match, built.stdout
    path = Path(match["path"])
    assert path == project.resolve() / "build" / f"{name}.wasm"
    data = path.read_bytes()
    assert int(match["size"].replace(",", "")) == len(data)

    report = runtime.prepare(data)  # the engine's contract check (raises BadComponentError)
    assert not report.uses_wasi
    assert not [name for name in report.imports if name.startswith("wasi:")]

    rps = play_local_match(path, BUILD_DIR / "constant.wasm", game="rps", rounds=200, runtime=runtime)
    assert rps.first_forfeit_a is None
    assert rps.score.wins_a >= 190
    ipd = play_local_match(path, BUILD_DIR / "defector.wasm", game="ipd", rounds=200, runtime=runtime)
    assert (ipd.score.total_a, ipd.score.total_b) == (199, 204)  # C then D: 0 + 199 x 1 against 5 + 199

    # A long history of earlier meetings goes through the hand-written or generated canonical ABI intact;
    # the scaffold looks at the current match only, so it opens with move 0 whatever came before.
    history = tuple(RoundRecord(i, 0, 2, -1, 1) for i in range(3000))
    setup = PlayerSetup("rps", ("rock", "paper", "scissors"), 10, seed=1, opponent=2, history=history)
    player = runtime.player(content_hash(data), setup, SandboxLimits())
    try:
        assert player.start() is None
        assert player.next_move(None).move == 0
        assert player.next_move(RoundRecord(0, 0, 2, -1, 1)).move == 0  # beats scissors
        assert player.next_move(RoundRecord(1, 0, 0, 0, 0)).move == 1  # beats rock
    finally:
        player.close()

    if language in ("c", "rust"):  # cheap to rebuild: the toolchain is reused, nothing is installed
        again = cli("strategy", "build", project, "-o", tmp_path / "again.wasm", cwd=tmp_path)
        assert "installing" not in again.stderr
        assert (tmp_path / "again.wasm").read_bytes() == data


# ---- what `new` writes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_new_writes_a_complete_project(language: str, tmp_path: Path) -> None:
    target = tmp_path / "empty-folder"
    target.mkdir()  # an existing empty folder is fine
    result = cli("strategy", "new", "beat-it", "--lang", language, "--dir", target, cwd=tmp_path)
    assert f"tournament strategy build {target}" in result.stdout
    manifest = tomllib.loads((target / "strategy.toml").read_text(encoding="utf-8"))
    assert manifest["name"] == "beat-it"
    assert manifest["language"] == language
    assert manifest["version"] == "0.1.0"
    assert manifest["games"] == ["rps"]
    assert manifest["description"]
    assert (target / "wit" / "strategy.wit").read_text(encoding="utf-8").count("@1.0.0") >= 1
    for path in target.rglob("*"):
        if path.is_file():
            assert "{{" not in path.read_text(encoding="utf-8"), f"{path} has an unfilled placeholder"
    readme = (target / "README.md").read_text(encoding="utf-8")
    for command in ("strategy build .", "strategy try build/beat-it.wasm", "strategy validate", "submit"):
        assert command in readme


# ---- bad input: one line, non-zero exit, nothing written ----------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("Bad_Name", "--lang", "c"), "not kebab-case"),
        (("x-", "--lang", "c"), "not kebab-case"),
        (("bot", "--lang", "cobol"), "choose one of: python, c, rust, js"),
        (("bot", "--lang", "go"), "Go is not supported"),
        (("bot", "--lang", "c", "--games", "chess"), "choose from: rps, rpsls, ipd"),
    ],
)
def test_new_rejects_bad_input(args: tuple[str, ...], expected: str, tmp_path: Path) -> None:
    line = one_line_error(cli("strategy", "new", *args, cwd=tmp_path, expect=1))
    assert expected in line
    assert not any(tmp_path.iterdir())


def test_new_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine", encoding="utf-8")
    line = one_line_error(cli("strategy", "new", "taken", "--lang", "c", cwd=tmp_path, expect=1))
    assert "not an empty folder" in line
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]


def test_build_needs_a_project(tmp_path: Path) -> None:
    line = one_line_error(cli("strategy", "build", tmp_path, cwd=tmp_path, expect=1))
    assert "strategy.toml not found" in line


def test_build_rejects_a_bad_manifest(tmp_path: Path) -> None:
    (tmp_path / "strategy.toml").write_text('name = "ok"\nlanguage = "fortran"\n', encoding="utf-8")
    line = one_line_error(cli("strategy", "build", tmp_path, cwd=tmp_path, expect=1))
    assert "unknown language 'fortran'" in line


def test_failed_build_shows_the_compiler_output(tmp_path: Path) -> None:
    cli("strategy", "new", "broken", "--lang", "c", cwd=tmp_path)
    source = tmp_path / "broken" / "strategy.c"
    source.write_text(source.read_text(encoding="utf-8") + "\nthis is not C;\n", encoding="utf-8")
    result = cli("strategy", "build", "broken", cwd=tmp_path, expect=1)
    assert result.stderr.startswith("error: zig cc failed (exit 1)")
    assert "strategy.c" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "broken" / "build" / "broken.wasm").exists()


# ---- toolchain installs happen once ---------------------------------------------------------------------


def test_install_once_installs_once_and_redoes_a_failed_install(tmp_path: Path) -> None:
    folder, said, runs = tmp_path / "tool", list[str](), list[Path]()

    def failing(target: Path) -> None:
        target.mkdir()
        (target / "half").write_text("", encoding="utf-8")
        raise OSError("network down")

    def working(target: Path) -> None:
        runs.append(target)
        target.mkdir()

    with pytest.raises(OSError, match="network down"):
        install_once(folder, "a tool", said.append, failing)
    assert install_once(folder, "a tool", said.append, working) == folder
    assert install_once(folder, "a tool", said.append, working) == folder
    assert runs == [folder]
    assert not (folder / "half").exists()  # the failed attempt's leftovers were cleared
    assert said[-1] == "installed a tool"
    assert any(str(folder) in line for line in said)


def test_toolchain_folder_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOURNAMENT_TOOLCHAINS", str(tmp_path / "tools"))
    assert toolchains_home() == tmp_path / "tools"
    monkeypatch.delenv("TOURNAMENT_TOOLCHAINS")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert toolchains_home() == tmp_path / "cache" / "tournament" / "toolchains"
