"""Opening a database by URL: engine factory, SQLite tuning, and migrations applied under a lock.

SQLite (a file, WAL mode) is the embedded default; PostgreSQL works through the same code by URL. Engines are
only ever created by :func:`open_database` / :func:`create_database_engine`, never at import.

Alembic (with Mako and every dialect's DDL: a tenth of a second or more) is imported only when a schema
has to change or be inspected; opening a database already at head reads the revision with one query.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, Engine, create_engine, event, exc, func, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from tournament import paths
from tournament.persistence.errors import DatabaseError
from tournament.persistence.strategies import register_builtins

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = paths.MIGRATIONS_DIR
"""The Alembic script folder at the repository root."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another one before giving up ("database is locked")."""

PG_CONNECT_TIMEOUT_S = 10
"""Give up on an unreachable PostgreSQL server after this long (unless the URL sets connect_timeout)."""

_PG_MIGRATION_LOCK = int.from_bytes(hashlib.sha256(b"tournament-migrations").digest()[:8], "big") >> 1
"""Key of the PostgreSQL advisory lock that serializes concurrent upgrades (a stable positive bigint)."""


def default_database_url() -> str:
    """``$TOURNAMENT_DB``, else a SQLite file in the user's data folder (created if missing)."""
    configured = os.environ.get("TOURNAMENT_DB")
    if configured:
        return configured
    home = os.environ.get("TOURNAMENT_HOME")
    if home:
        data_dir = Path(home).expanduser()
    else:
        xdg = os.environ.get("XDG_DATA_HOME")
        base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
        data_dir = base / "tournament"
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'tournament.db'}"


@dataclass
class Database:
    """An open database: its URL, engine and session factory.

    Use ``with database.sessions.begin() as session:`` for a unit of work: repository functions in this
    package flush but never commit, so the caller decides what one transaction covers.
    """

    url: str = field(repr=False)
    """The URL as given (it may hold a password, hence not in repr); worker processes reopen it."""
    engine: Engine
    sessions: sessionmaker[Session] = field(repr=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def close(self) -> None:
        """Close every pooled connection (the engine stays usable, it would reconnect)."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def is_postgres(db: Database | Engine | Connection | Session) -> bool:
    """Whether the database behind ``db`` is PostgreSQL (else it is SQLite)."""
    if isinstance(db, Database):
        return db.dialect == "postgresql"
    bind = db.get_bind() if isinstance(db, Session) else db
    return bind.dialect.name == "postgresql"


def display_url(url: str | URL) -> str:
    """The URL with its password masked, for messages."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except exc.ArgumentError:
        return str(url)
    return parsed.render_as_string(hide_password=True)


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise DatabaseError(
            f"invalid database URL {url!r}: expected sqlite:///PATH or postgresql://USER@HOST/DB"
        ) from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
            return parsed.set(drivername="postgresql+psycopg")
        raise DatabaseError(
            f"unsupported PostgreSQL driver {parsed.drivername!r} in {display_url(parsed)}: "
            "use postgresql:// (psycopg 3)"
        )
    if backend == "sqlite":
        if parsed.drivername not in ("sqlite", "sqlite+pysqlite"):
            raise DatabaseError(f"unsupported SQLite driver {parsed.drivername!r}: use sqlite:///PATH")
        return parsed
    raise DatabaseError(
        f"unsupported database {backend!r} in {display_url(parsed)}: use sqlite:///PATH or postgresql://..."
    )


def _sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL points at, or None for in-memory and ``file:`` URI databases."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:") or url.query.get("uri"):
        return None
    return Path(database).expanduser()


def _short_reason(error: BaseException) -> str:
    """First line of a driver error, without SQLAlchemy's appended SQL and background links."""
    origin = error.orig if isinstance(error, exc.DBAPIError) and error.orig is not None else error
    lines = [line.strip() for line in str(origin).splitlines() if line.strip()]
    reason = lines[0] if lines else type(origin).__name__
    reason = re.sub(r"^\(\S+\)\s*", "", reason)
    return reason[:300]


def create_database_engine(url: str) -> Engine:
    """An engine for ``url`` with this project's settings; raises DatabaseError for unusable URLs.

    SQLite gets WAL journaling, enforced foreign keys, a 30 s busy timeout and ``synchronous=NORMAL`` on every
    connection; its parent folder is created. PostgreSQL URLs are mapped to the psycopg 3 driver.
    """
    parsed = _parse_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(parsed)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise DatabaseError(
                    f"cannot create the folder of {path}: {error.strerror or error}"
                ) from None
    else:
        kwargs["pool_pre_ping"] = True
        if "connect_timeout" not in parsed.query:
            kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    try:
        engine = create_engine(parsed, **kwargs)
    except (exc.ArgumentError, ImportError) as error:
        raise DatabaseError(f"cannot use database {display_url(parsed)}: {_short_reason(error)}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, connection_record: Any) -> None:
    """Per-connection SQLite settings (PRAGMAs are not persistent, except journal_mode)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code (no alembic.ini needed); ``connection`` is used by env.py."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this engine knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise DatabaseError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(connection: Connection) -> str | None:
    """The schema revision stored in the database (None for a database never migrated)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


@contextlib.contextmanager
def migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection inside one transaction that holds the database's migration lock until it commits.

    PostgreSQL: a transaction-scoped advisory lock (DDL is transactional, so an upgrade is all or nothing).
    SQLite: ``BEGIN IMMEDIATE`` (the write lock; a second process waits up to the busy timeout), with
    foreign key enforcement off during the change and checked before commit, as SQLite recommends for
    schema changes that rebuild tables.
    """
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            # Autocommit at the driver level lets us issue BEGIN IMMEDIATE ourselves; SQLAlchemy's
            # commit/rollback still reach the driver and end that transaction.
            connection.execution_options(isolation_level="AUTOCOMMIT")
            try:
                with connection.begin():
                    connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                    yield connection
                    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if problems:
                        raise DatabaseError(f"migration left broken foreign keys: {problems[:5]}")
                with connection.begin():
                    connection.exec_driver_sql("PRAGMA foreign_keys = ON")
            except BaseException:
                # Never hand a connection with foreign keys off (or a half-open transaction) back to the pool.
                connection.invalidate()
                raise
        else:
            with connection.begin():
                connection.execute(select(func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
                yield connection


def migrate_schema(
    engine: Engine, revision: str = "head", *, direction: Literal["upgrade", "downgrade"] = "upgrade"
) -> None:
    """Move the schema to ``revision`` (default: upgrade to head) under the migration lock; no-op if there."""
    from alembic import command

    with migration_lock(engine) as connection:
        if direction == "upgrade" and revision == "head" and current_revision(connection) == head_revision():
            return
        config = alembic_config(connection)
        if direction == "upgrade":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)


@functools.cache
def _scripted_head() -> str | None:
    """The head revision read from the migration files' ``revision``/``down_revision`` constants without
    importing Alembic; None when that is not a single plain chain (then Alembic decides)."""
    revisions: dict[str, str | None] = {}
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        values: dict[str, object] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target: ast.expr | None = None
            if isinstance(node, ast.AnnAssign):
                target = node.target
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
            if isinstance(target, ast.Name) and isinstance(value, ast.Constant):
                values[target.id] = value.value
        revision, down = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str) or not (down is None or isinstance(down, str)):
            return None
        revisions[revision] = down
    heads = set(revisions) - set(revisions.values())
    return heads.pop() if len(heads) == 1 else None


def _stored_revisions(connection: Connection) -> list[str]:
    """The revisions in Alembic's version table, read with plain SQL (none if it does not exist)."""
    if not inspect(connection).has_table("alembic_version"):
        return []
    return [str(row[0]) for row in connection.execute(text("SELECT version_num FROM alembic_version"))]


def _at_scripted_head(engine: Engine) -> bool:
    """True when the database is at the head read from the migration files (no Alembic import)."""
    head = _scripted_head()
    if head is None:
        return False
    with engine.connect() as connection:
        return _stored_revisions(connection) == [head]


def _schema_is_current(engine: Engine) -> bool:
    """Fast path without the lock: is the database already at head? Raise if it is newer than this engine."""
    if _at_scripted_head(engine):
        return True
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    head = head_revision()
    with engine.connect() as connection:
        current = current_revision(connection)
    if current == head:
        return True
    if current is not None:
        script = ScriptDirectory.from_config(alembic_config())
        try:
            known = script.get_revision(current) is not None
        except CommandError:
            known = False
        if not known:
            raise DatabaseError(
                f"database schema revision {current!r} is unknown to this engine (head {head!r}): "
                "it was written by a newer version"
            )
    return False


def open_database(
    url: str | None = None,
    *,
    builtins_manifest: Path | None = None,
    migrate: bool = True,
) -> Database:
    """Open the database at ``url`` (default: :func:`default_database_url`), creating or upgrading it.

    Safe when several processes open the same new database at once: upgrades run under a lock and the
    built-in registration is retried once if another process registered the same strategies concurrently.
    Database failures raise DatabaseError with a one-line message; a malformed built-ins manifest raises
    InvalidStrategyError. Worker processes reopen ``database.url`` with ``migrate=False``.
    """
    resolved = url if url is not None else default_database_url()
    engine = create_database_engine(resolved)
    database = Database(url=resolved, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
    where = display_url(resolved)
    try:
        try:
            if migrate and not _at_scripted_head(engine):
                _migrate_to_head(engine, where)
            if builtins_manifest is not None and builtins_manifest.exists():
                _register_builtins_with_retry(database, builtins_manifest)
        except exc.SQLAlchemyError as error:
            raise DatabaseError(f"cannot open database {where}: {_short_reason(error)}") from None
    except BaseException:
        engine.dispose()
        raise
    return database


def _migrate_to_head(engine: Engine, where: str) -> None:
    """The slow path of opening: ask Alembic, and upgrade under the lock if the schema is behind."""
    from alembic.util import CommandError

    try:
        if not _schema_is_current(engine):
            migrate_schema(engine)
    except CommandError as error:
        raise DatabaseError(f"cannot migrate database {where}: {_short_reason(error)}") from None


def _register_builtins_with_retry(database: Database, manifest: Path) -> None:
    for attempt in range(2):
        try:
            with database.sessions.begin() as session:
                register_builtins(session, manifest)
            return
        except exc.IntegrityError:
            if attempt == 1:
                raise


def sqlite_path(database: Database) -> Path | None:
    """The file of a SQLite database (None for PostgreSQL or in-memory SQLite)."""
    if database.dialect != "sqlite":
        return None
    return _sqlite_file(database.engine.url)


__all__ = [
    "MIGRATIONS_DIR",
    "Database",
    "alembic_config",
    "create_database_engine",
    "current_revision",
    "default_database_url",
    "display_url",
    "head_revision",
    "is_postgres",
    "migrate_schema",
    "migration_lock",
    "open_database",
    "sqlite_path",
]
