"""Migration 0002 keeps every stored strategy, version and component when it adds ownership and audit."""

from __future__ import annotations

from sqlalchemy import func, select, text

from tournament.persistence import Database
from tournament.persistence.database import migrate_schema
from tournament.persistence.models import ComponentBlob, Strategy, StrategyVersion


def _snapshot(db: Database) -> list[tuple[object, ...]]:
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(Strategy.id, Strategy.name, StrategyVersion.id, StrategyVersion.content_hash)
            .join(StrategyVersion, StrategyVersion.strategy_id == Strategy.id)
            .order_by(StrategyVersion.id)
        )
        blobs = connection.scalar(select(func.count()).select_from(ComponentBlob))
        return [*(tuple(row) for row in rows), ("blobs", blobs)]


def test_down_to_0001_and_up_again_keeps_the_registry(registry: Database) -> None:
    before = _snapshot(registry)
    assert len(before) == 3  # two built-in versions and the blob count
    migrate_schema(registry.engine, "0001", direction="downgrade")
    migrate_schema(registry.engine)
    assert _snapshot(registry) == before
    with registry.engine.connect() as connection:
        owners = connection.execute(text("SELECT owner_id FROM strategies")).scalars().all()
        assert owners == [None, None]
        if registry.dialect == "sqlite":
            ddl = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = 'strategies'")).scalar()
            assert "AUTOINCREMENT" in str(ddl)
