"""Strategies: built-in registration, content-addressed storage, current versions and lookup errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tournament.persistence import (
    Database,
    InvalidStrategyError,
    UnknownStrategyError,
    active_versions,
    add_version,
    component_bytes,
    content_hash,
    list_strategies,
    open_database,
    register_builtins,
    set_version_status,
    strategy_versions,
    version_by_id,
)
from tournament.persistence.models import ComponentBlob, Strategy, StrategyVersion

from .conftest import add_strategy, fake_component, write_manifest


def _count(database: Database, model: type[ComponentBlob] | type[Strategy] | type[StrategyVersion]) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_register_builtins_is_idempotent(database: Database, tmp_path: Path) -> None:
    manifest = write_manifest(
        tmp_path / "b",
        [("constant", "1.0.0", fake_component("constant")), ("cycle", "1.0.0", fake_component("cycle"))],
    )
    with database.sessions.begin() as session:
        first = register_builtins(session, manifest)
    with database.sessions.begin() as session:
        second = register_builtins(session, manifest)
    assert first == second
    assert [info.name for info in first] == ["constant", "cycle"]
    assert all(info.builtin and info.status == "active" and info.version == "1.0.0" for info in first)
    assert first[0].content_hash == content_hash(fake_component("constant"))
    assert first[0].games == ("rps",)
    assert first[0].description == "the constant bot"
    assert _count(database, StrategyVersion) == 2
    assert _count(database, ComponentBlob) == 2


def test_changed_builtin_bytes_add_a_version_and_retire_the_old_one(
    database: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "b"
    with database.sessions.begin() as session:
        (old,) = register_builtins(session, write_manifest(folder, [("constant", "1.0.0", b"build one")]))
    with database.sessions.begin() as session:
        (new,) = register_builtins(session, write_manifest(folder, [("constant", "1.0.0", b"build two")]))
    assert new.version == f"1.0.0+{content_hash(b'build two')[:8]}"
    assert new.strategy_id == old.strategy_id
    assert new.version_id != old.version_id
    with database.sessions() as session:
        assert version_by_id(session, old.version_id).status == "retired"
        assert [info.version_id for info in active_versions(session, "rps")] == [new.version_id]
        # Reverting to the first build reactivates its version instead of adding a third one.
    with database.sessions.begin() as session:
        (back,) = register_builtins(session, write_manifest(folder, [("constant", "1.0.0", b"build one")]))
    assert back.version_id == old.version_id
    with database.sessions() as session:
        assert version_by_id(session, new.version_id).status == "retired"
        assert [info.version_id for info in active_versions(session, "rps")] == [old.version_id]
    assert _count(database, StrategyVersion) == 2


def test_a_new_builtin_version_label_is_used_as_is(database: Database, tmp_path: Path) -> None:
    folder = tmp_path / "b"
    with database.sessions.begin() as session:
        register_builtins(session, write_manifest(folder, [("constant", "1.0.0", b"one")]))
    with database.sessions.begin() as session:
        (new,) = register_builtins(session, write_manifest(folder, [("constant", "1.1.0", b"two")]))
    assert new.version == "1.1.0"


def test_open_database_registers_builtins(db_url: str, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "b", [("constant", "1.0.0", b"one"), ("mirror", "2.0.0", b"two")])
    with open_database(db_url, builtins_manifest=manifest) as db, db.sessions() as session:
        assert [info.name for info in list_strategies(session)] == ["constant", "mirror"]
    # A missing manifest is simply skipped.
    with open_database(db_url, builtins_manifest=tmp_path / "nowhere.json") as db, db.sessions() as session:
        assert len(list_strategies(session)) == 2


def test_bad_manifests_are_one_line_errors(database: Database, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "b", [("constant", "1.0.0", b"one")])
    (tmp_path / "b" / "constant.wasm").unlink()
    with (
        database.sessions.begin() as session,
        pytest.raises(InvalidStrategyError, match=r"cannot read constant\.wasm"),
    ):
        register_builtins(session, manifest)
    manifest.write_text("{not json", encoding="utf-8")
    with database.sessions.begin() as session, pytest.raises(InvalidStrategyError, match="cannot read it"):
        register_builtins(session, manifest)


def test_builtin_names_cannot_clash_with_uploads(database: Database, tmp_path: Path) -> None:
    add_strategy(database, "constant")
    with database.sessions.begin() as session, pytest.raises(InvalidStrategyError, match="clashes"):
        register_builtins(session, write_manifest(tmp_path / "b", [("constant", "1.0.0", b"x")]))


def test_identical_bytes_are_stored_once(database: Database) -> None:
    shared = fake_component("same")
    one = add_strategy(database, "first", data=shared)
    two = add_strategy(database, "second", data=shared)
    three = add_strategy(database, "first", version="1.0.1", data=shared)
    assert one.content_hash == two.content_hash == three.content_hash
    assert _count(database, ComponentBlob) == 1
    with database.sessions() as session:
        assert component_bytes(session, one.content_hash) == shared


def test_add_version_is_idempotent_but_labels_mean_one_build(database: Database) -> None:
    first = add_strategy(database, "bot", data=b"one")
    assert add_strategy(database, "bot", data=b"one") == first
    with pytest.raises(InvalidStrategyError, match=r"already has a version 1\.0\.0 with different bytes"):
        add_strategy(database, "bot", data=b"two")


@pytest.mark.parametrize("name", ["Bot", "two--hyphens", "-lead", "trail-", "under_score", "", "x" * 65])
def test_invalid_names_are_refused(database: Database, name: str) -> None:
    with pytest.raises(InvalidStrategyError, match="kebab-case"):
        add_strategy(database, name)


@pytest.mark.parametrize("version", ["1", "1.0", "v1.0.0", "01.0.0", "1.0.0+", "latest"])
def test_invalid_versions_are_refused(database: Database, version: str) -> None:
    with pytest.raises(InvalidStrategyError, match="semver"):
        add_strategy(database, "bot", version=version)


def test_active_versions_order_and_current_version(database: Database) -> None:
    add_strategy(database, "zeta")
    add_strategy(database, "alpha")
    newer = add_strategy(database, "alpha", version="1.1.0")
    add_strategy(database, "prisoner", games=("ipd",))
    with database.sessions.begin() as session:
        validating = add_version(
            session,
            name="alpha",
            data=b"not yet",
            version="2.0.0",
            language="c",
            games=["rps"],
            description="",
            deterministic=True,
            status="validating",
        )
    with database.sessions() as session:
        current = active_versions(session, "rps")
        assert [(info.name, info.version) for info in current] == [("alpha", "1.1.0"), ("zeta", "1.0.0")]
        assert current[0].version_id == newer.version_id
        chosen = active_versions(session, "rps", ["zeta", "alpha"])
        assert [info.name for info in chosen] == ["zeta", "alpha"]
        assert [info.name for info in active_versions(session, "ipd")] == ["prisoner"]
    with database.sessions.begin() as session:
        assert set_version_status(session, validating.version_id, "active").status == "active"
    with database.sessions() as session:
        assert active_versions(session, "rps", ["alpha"])[0].version == "2.0.0"
        assert [info.version for info in strategy_versions(session, "alpha")] == ["2.0.0", "1.1.0", "1.0.0"]


def test_unknown_strategies_are_all_named(database: Database) -> None:
    for name in ("always-switch", "beat-last", "constant"):
        add_strategy(database, name)
    add_strategy(database, "prisoner", games=("ipd",))
    with database.sessions() as session:
        with pytest.raises(UnknownStrategyError) as raised:
            active_versions(session, "rps", ["constant", "foo"])
        assert (
            str(raised.value) == "unknown strategy 'foo' (known for rps: always-switch, beat-last, constant)"
        )
        assert raised.value.names == ("foo",)
        with pytest.raises(UnknownStrategyError) as raised:
            active_versions(session, "rps", ["foo", "prisoner", "bar"])
        assert str(raised.value).startswith(
            "unknown strategies 'foo', 'prisoner', 'bar' (known for rps: always-switch, beat-last, constant)"
        )
        assert "'prisoner' plays ipd, not rps" in str(raised.value)
        with pytest.raises(UnknownStrategyError, match=r"none known for go"):
            active_versions(session, "go", ["foo"])


def test_lookups_by_id_and_hash(database: Database) -> None:
    stored = add_strategy(database, "bot", data=b"bytes")
    with database.sessions() as session:
        assert version_by_id(session, stored.version_id) == stored
        with pytest.raises(UnknownStrategyError, match="no strategy version with id 999"):
            version_by_id(session, 999)
        with pytest.raises(UnknownStrategyError, match="no component with hash"):
            component_bytes(session, "0" * 64)
        with pytest.raises(UnknownStrategyError, match="unknown strategy 'nobody'"):
            strategy_versions(session, "nobody")


def test_list_strategies_shows_strategies_without_active_versions(database: Database) -> None:
    add_strategy(database, "live")
    with database.sessions.begin() as session:
        add_version(
            session,
            name="pending",
            data=b"p",
            version="0.1.0",
            language="rust",
            games=["rps"],
            description="",
            deterministic=False,
            status="validating",
        )
    with database.sessions() as session:
        listed = list_strategies(session)
    assert [(info.name, info.status) for info in listed] == [("live", "active"), ("pending", "validating")]
