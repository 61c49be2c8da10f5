from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.wasm_builders import build_component, core_wat
from tournament.sandbox.runtime import SandboxRuntime

Build = Callable[..., bytes]


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxRuntime]:
    with SandboxRuntime(cache_dir=tmp_path_factory.mktemp("artifacts")) as shared:
        yield shared


@pytest.fixture
def wat_component(tmp_path: Path) -> Build:
    """Build a component from core_wat() keyword arguments."""
    counter = iter(range(1000))

    def build(move_body: str = "i32.const 0", **kwargs: object) -> bytes:
        return build_component(core_wat(move_body, **kwargs), tmp_path / f"c{next(counter)}")  # type: ignore[arg-type]

    return build
