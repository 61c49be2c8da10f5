"""Authors with API tokens, strategy ownership, stored validation reports and the audit log.

A frozen snapshot like 0001: it does not import the models. SQLite cannot add a foreign key to an existing
table, so ``strategies`` is rebuilt in batch mode (under the migration lock, with foreign keys checked
before commit).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at(name: str = "created_at") -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "authors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authors")),
        sa.UniqueConstraint("name", name=op.f("uq_authors_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_authors_token_hash")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("strategies", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_strategies_owner_id_authors"), "authors", ["owner_id"], ["id"])
    with op.batch_alter_table("strategy_versions", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("validation_report", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("rejection_reasons", sa.JSON(), nullable=True))
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        _created_at("at"),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("strategy_id", sa.Integer(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("match_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('submitted', 'validated', 'state-changed', 'forfeit', 'author-created')",
            name=op.f("ck_audit_events_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.id"],
            name=op.f("fk_audit_events_strategy_id_strategies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["strategy_versions.id"],
            name=op.f("fk_audit_events_version_id_strategy_versions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_audit_events_strategy_id_id"), "audit_events", ["strategy_id", "id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_events_strategy_id_id"), table_name="audit_events")
    op.drop_table("audit_events")
    with op.batch_alter_table("strategy_versions", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("rejection_reasons")
        batch.drop_column("validation_report")
    with op.batch_alter_table("strategies", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(op.f("fk_strategies_owner_id_authors"), type_="foreignkey")
        batch.drop_column("owner_id")
    op.drop_table("authors")
