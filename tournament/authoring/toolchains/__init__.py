"""`tournament strategy build`: build a strategy project into a component with its language's toolchain."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tournament.authoring.scaffold import StrategyProject, read_project
from tournament.authoring.toolchains import c, js, python, rust
from tournament.authoring.toolchains.common import BuildError, Say, toolchains_home, wasi_imports

__all__ = ["BuildError", "BuiltComponent", "build_project", "toolchains_home"]

BUILDERS: dict[str, Callable[[StrategyProject, Path, Say], Path]] = {
    "python": python.build,
    "c": c.build,
    "rust": rust.build,
    "js": js.build,
}


@dataclass(frozen=True, slots=True)
class BuiltComponent:
    project: StrategyProject
    path: Path
    size: int
    sha256: str


def default_output(project: StrategyProject) -> Path:
    return project.directory / "build" / f"{project.name}.wasm"


def build_project(directory: Path, output: Path | None, say: Say) -> BuiltComponent:
    """Build the project in `directory`; the component must import no WASI (the default sandbox policy)."""
    project = read_project(directory.resolve())
    output = output or default_output(project)
    with tempfile.TemporaryDirectory(prefix=f"tournament-build-{project.name}-") as tmp:
        component = BUILDERS[project.language](project, Path(tmp), say)
        wasi = wasi_imports(component, say)
        if wasi:
            raise BuildError(
                f"the component imports WASI ({', '.join(wasi)}), which the default sandbox policy rejects"
            )
        output.parent.mkdir(parents=True, exist_ok=True)
        staged = output.with_name(f".{output.name}.{os.getpid()}.tmp")
        shutil.copyfile(component, staged)
        staged.replace(output)  # a reader never sees a half-written component
    data = output.read_bytes()
    return BuiltComponent(project, output, len(data), hashlib.sha256(data).hexdigest())
