"""Run the real `tournament` command in a subprocess, against a real database."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.wasm_builders import BUILD_DIR
from tournament.persistence import open_database
from tournament.persistence.strategies import add_version

TOURNAMENT = Path(sys.executable).with_name("tournament")


class Cli:
    """The CLI bound to one database URL."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    def __call__(self, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TOURNAMENT_DB": self.db_url}
        result = subprocess.run(
            [str(TOURNAMENT), *args], capture_output=True, text=True, env=env, timeout=900, check=False
        )
        if result.returncode != expect:
            raise AssertionError(
                f"tournament {' '.join(args)} exited {result.returncode}, expected {expect}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def json(self, *args: str) -> list[dict[str, Any]]:
        data = json.loads(self(*args, "--json").stdout)
        assert isinstance(data, list)
        return data

    def rows(self, tournament_id: int) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(self("export", str(tournament_id), "--rounds").stdout)))

    def add_strategy(self, name: str, data: bytes, games: tuple[str, ...] = ("rps",)) -> None:
        """Register a component directly in the database (the submit command arrives with authoring)."""
        db = open_database(self.db_url, builtins_manifest=BUILD_DIR / "manifest.json")
        try:
            with db.sessions.begin() as session:
                add_version(
                    session, name=name, data=data, version="1.0.0", language="wat", games=games,
                    description=f"test component {name}", deterministic=True,
                )  # fmt: skip
        finally:
            db.close()


@pytest.fixture
def cli(db_url: str) -> Cli:
    return Cli(db_url)


@pytest.fixture
def sqlite_cli(tmp_path: Path) -> Cli:
    return Cli(f"sqlite:///{tmp_path / 'cli.db'}")


def tournament_id(result: subprocess.CompletedProcess[str]) -> int:
    """The id the run command announced ("tournament 3: rps, ...")."""
    for stream in (result.stdout, result.stderr):
        for line in stream.splitlines():
            if line.startswith("tournament ") and ":" in line:
                return int(line.split()[1].rstrip(":"))
    raise AssertionError(f"no tournament id in output:\n{result.stdout}\n{result.stderr}")


Runner = Callable[..., subprocess.CompletedProcess[str]]
