"""Python strategies: componentize-py with `--stub-wasi`, so the component imports no WASI."""

from __future__ import annotations

import shutil
from pathlib import Path

from tournament.authoring.scaffold import StrategyProject
from tournament.authoring.toolchains.common import WORLD, BuildError, Say, console_script, run

MODULE = "app"
REQUIREMENT = "componentize-py>=0.25"
_SKIP = {"build", "wit", "__pycache__"}


def build(project: StrategyProject, work: Path, say: Say) -> Path:
    """Bundle the project's Python sources (only those: componentize-py packs its whole search path)."""
    source = work / "src"
    source.mkdir()
    if not (project.directory / f"{MODULE}.py").is_file():
        raise BuildError(f"{project.directory / (MODULE + '.py')} not found: the strategy's module")
    for path in project.directory.iterdir():
        if path.name.startswith(".") or path.name in _SKIP:
            continue
        if path.is_file() and path.suffix == ".py":
            shutil.copy2(path, source / path.name)
        elif path.is_dir() and (path / "__init__.py").is_file():  # a package of the strategy's own
            shutil.copytree(path, source / path.name, ignore=shutil.ignore_patterns("__pycache__"))
    component = work / "component.wasm"
    tool = console_script("componentize-py", REQUIREMENT, say)
    args: list[str | Path] = [
        tool,
        "-d",
        project.directory / "wit",
        "-w",
        WORLD,
        "componentize",
        MODULE,
        "-o",
        component,
    ]
    run("componentize-py", [*args, "--stub-wasi"], cwd=source)
    return component
