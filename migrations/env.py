"""Alembic environment: runs migrations on a connection the engine hands in, or opens one from a URL.

Programmatic use (``tournament.persistence.database.migrate_schema``) passes a connection that already holds
the migration lock in ``config.attributes["connection"]``. From the command line, the URL comes from
``alembic -x url=...``, else ``$TOURNAMENT_DB``, else the default SQLite file, and the same lock is taken.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from tournament.persistence.database import create_database_engine, default_database_url, migration_lock
from tournament.persistence.models import Base

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    return context.get_x_argument(as_dictionary=True).get("url") or default_database_url()


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (``alembic upgrade head --sql``)."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    engine = create_database_engine(_url())
    try:
        with migration_lock(engine) as locked:
            _configure_and_run(locked)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
