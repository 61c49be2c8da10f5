"""Registry fixtures: real WAT components, a database with two real built-ins, the isolated validator."""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.wasm_builders import BUILD_DIR, build_component, core_wat
from tournament.authoring.isolation import validate_isolated
from tournament.persistence import Database, open_database
from tournament.services.authors import Actor, add_author
from tournament.services.submissions import SubmissionResult, Validator, submit_strategy

VALIDATE: Validator = functools.partial(validate_isolated, builtins_manifest=BUILD_DIR / "manifest.json")
"""The production validator: every admission check, in a limited child process."""

MOVE_BODIES = {
    "cycle": "local.get $r i32.const 3 i32.rem_u",
    "paper": "i32.const 1",
    "scissors": "i32.const 2",
    "illegal": "i32.const 7",
    "trap-at-5": "local.get $r i32.const 5 i32.eq (if (then unreachable)) i32.const 0",
}
"""Components by behaviour: three legal players, one illegal move (fails the smoke match), one trapper."""

BUILTINS = ("constant", "rotate")


@dataclass(frozen=True)
class Components:
    """Built component bytes by name (see MOVE_BODIES), plus bytes that are no component at all."""

    by_name: dict[str, bytes]

    def __getitem__(self, name: str) -> bytes:
        return self.by_name[name]


@pytest.fixture(scope="session")
def components(tmp_path_factory: pytest.TempPathFactory) -> Components:
    folder = tmp_path_factory.mktemp("components")
    built = {name: build_component(core_wat(body), folder / name) for name, body in MOVE_BODIES.items()}
    built["garbage"] = b"\0asm\x0d\x00\x01\x00not a component"
    return Components(built)


@pytest.fixture(scope="session")
def small_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built-ins manifest with two of the real built-ins (registering all 22 costs 19 MB per database)."""
    folder = tmp_path_factory.mktemp("builtins")
    document = json.loads((BUILD_DIR / "manifest.json").read_text(encoding="utf-8"))
    entries = [entry for entry in document["strategies"] if entry["name"] in BUILTINS]
    for entry in entries:
        shutil.copy(BUILD_DIR / entry["file"], folder / entry["file"])
    manifest = folder / "manifest.json"
    manifest.write_text(json.dumps({**document, "strategies": entries}), encoding="utf-8")
    return manifest


@pytest.fixture
def registry(db_url: str, small_manifest: Path) -> Iterator[Database]:
    """A fresh database (SQLite and PostgreSQL) with the built-ins `constant` and `rotate`."""
    db = open_database(db_url, builtins_manifest=small_manifest)
    try:
        yield db
    finally:
        db.close()


@dataclass(frozen=True)
class Authors:
    alice: Actor
    bob: Actor
    admin: Actor
    tokens: dict[str, str]


@pytest.fixture
def authors(registry: Database) -> Authors:
    """Two authors and an admin, with their tokens."""
    operator = Actor.operator()
    created = {
        name: add_author(registry, name, is_admin=name == "root", actor=operator)
        for name in ("alice", "bob", "root")
    }
    actors = {name: Actor.of(new.author) for name, new in created.items()}
    return Authors(
        actors["alice"], actors["bob"], actors["root"], {n: new.token for n, new in created.items()}
    )


def submit(
    db: Database,
    data: bytes,
    name: str,
    actor: Actor | None = None,
    *,
    version: str | None = None,
    games: tuple[str, ...] = (),
    owner: str | None = None,
    validate: Validator = VALIDATE,
) -> SubmissionResult:
    """Submit with the real isolated validator (as the CLI and the API do)."""
    return submit_strategy(
        db, data, name=name, version=version, games=games, owner=owner, language="wat",
        actor=actor or Actor.operator(), validate=validate,
    )  # fmt: skip
