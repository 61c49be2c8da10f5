"""Schedules, strategy tags, run leases, cancellation and failed matches.

A frozen snapshot like 0001: it does not import the models. ``tournaments`` and ``matches`` are rebuilt in
batch mode on SQLite (new foreign key, new check constraint) under the migration lock, with foreign keys
off during the change and checked before commit.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("cron", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("template", sa.JSON(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint("name", name=op.f("uq_schedules_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "strategy_tags",
        sa.Column("strategy_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.id"],
            name=op.f("fk_strategy_tags_strategy_id_strategies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("strategy_id", "tag", name=op.f("pk_strategy_tags")),
    )
    op.create_index(op.f("ix_strategy_tags_tag"), "strategy_tags", ["tag"])
    with op.batch_alter_table("tournaments", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("schedule_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("runner", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("cancel_requested", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.create_foreign_key(
            op.f("fk_tournaments_schedule_id_schedules"),
            "schedules",
            ["schedule_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_unique_constraint(
            op.f("uq_tournaments_schedule_id_scheduled_for"), ["schedule_id", "scheduled_for"]
        )
    with op.batch_alter_table("matches", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.drop_constraint(op.f("ck_matches_status"), type_="check")
        batch.create_check_constraint(
            op.f("ck_matches_status"), "status IN ('pending', 'finished', 'failed')"
        )


def downgrade() -> None:
    op.execute("UPDATE matches SET status = 'pending' WHERE status = 'failed'")
    with op.batch_alter_table("matches", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(op.f("ck_matches_status"), type_="check")
        batch.create_check_constraint(op.f("ck_matches_status"), "status IN ('pending', 'finished')")
        batch.drop_column("error")
    with op.batch_alter_table("tournaments", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(op.f("uq_tournaments_schedule_id_scheduled_for"), type_="unique")
        batch.drop_constraint(op.f("fk_tournaments_schedule_id_schedules"), type_="foreignkey")
        batch.drop_column("cancel_requested")
        batch.drop_column("heartbeat_at")
        batch.drop_column("runner")
        batch.drop_column("scheduled_for")
        batch.drop_column("schedule_id")
    op.drop_index(op.f("ix_strategy_tags_tag"), table_name="strategy_tags")
    op.drop_table("strategy_tags")
    op.drop_table("schedules")
