"""Opening databases: default location, and one-line DatabaseError messages for every bad URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tournament.persistence import DatabaseError, default_database_url, is_postgres, open_database
from tournament.persistence.database import create_database_engine


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "invalid database URL"),
        ("", "invalid database URL"),
        ("mysql://user@localhost/db", "unsupported database 'mysql'"),
        ("oracle+cx_oracle://user@localhost/db", "unsupported database 'oracle'"),
        ("postgresql+asyncpg://user@localhost/db", "unsupported PostgreSQL driver"),
        (
            "postgresql://nobody@127.0.0.1:1/nothing",
            "cannot open database postgresql://nobody@127.0.0.1:1/nothing: ",
        ),
    ],
)
def test_bad_urls_raise_one_line_database_errors(url: str, expected: str) -> None:
    with pytest.raises(DatabaseError) as raised:
        open_database(url)
    message = str(raised.value)
    assert expected in message
    assert "\n" not in message
    assert "Traceback" not in message
    assert "sqlalche.me" not in message
    assert len(message) < 400


def test_password_is_masked_in_messages() -> None:
    with pytest.raises(DatabaseError) as raised:
        open_database("postgresql://someone:s3cret@127.0.0.1:1/db")
    assert "s3cret" not in str(raised.value)
    assert "***" in str(raised.value)


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database file, just some text " * 200)
    with pytest.raises(DatabaseError) as raised:
        open_database(f"sqlite:///{path}")
    assert "not a database" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_folder_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DatabaseError, match="cannot create the folder"):
        open_database(f"sqlite:///{blocker / 'sub' / 't.db'}")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    open_database(url).close()
    engine = create_database_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(DatabaseError, match="unknown to this engine"):
        open_database(url)


def test_migrate_false_leaves_a_new_database_empty(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 't.db'}", migrate=False)
    try:
        with db.engine.connect() as connection:
            names = (
                connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
                .scalars()
                .all()
            )
        assert names == []
    finally:
        db.close()


def test_in_memory_sqlite_is_migrated() -> None:
    db = open_database("sqlite://")
    try:
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM strategies")).scalar() == 0
    finally:
        db.close()


def test_default_url_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TOURNAMENT_DB", "sqlite:////somewhere/else.db")
    assert default_database_url() == "sqlite:////somewhere/else.db"
    monkeypatch.delenv("TOURNAMENT_DB")
    monkeypatch.setenv("TOURNAMENT_HOME", str(tmp_path / "home"))
    assert default_database_url() == f"sqlite:///{tmp_path / 'home' / 'tournament.db'}"
    assert (tmp_path / "home").is_dir()
    monkeypatch.delenv("TOURNAMENT_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_database_url() == f"sqlite:///{tmp_path / 'xdg' / 'tournament' / 'tournament.db'}"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert (
        default_database_url()
        == f"sqlite:///{tmp_path / 'user' / '.local' / 'share' / 'tournament' / 'tournament.db'}"
    )


def test_dialect_helpers(db_url: str) -> None:
    db = open_database(db_url)
    try:
        assert is_postgres(db) == db_url.startswith("postgresql")
        with db.sessions() as session:
            assert is_postgres(session) == is_postgres(db)
    finally:
        db.close()
