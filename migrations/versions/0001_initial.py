"""Initial schema: component store, strategies and versions, tournaments, matches, rounds and match logs.

A frozen snapshot: it does not import the models (they will move on; this file must not).

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "component_blobs",
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("content_hash", name=op.f("pk_component_blobs")),
    )
    op.create_table(
        "strategies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("games", sa.JSON(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategies")),
        sa.UniqueConstraint("name", name=op.f("uq_strategies_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "tournaments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("game", sa.String(length=64), nullable=False),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("repetitions", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("noise", sa.Float(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("engine_version", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        _created_at(),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'finished', 'failed', 'cancelled')",
            name=op.f("ck_tournaments_status"),
        ),
        sa.CheckConstraint("seed >= 0", name=op.f("ck_tournaments_seed")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tournaments")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_tournaments_game"), "tournaments", ["game"])
    op.create_index(op.f("ix_tournaments_status"), "tournaments", ["status"])
    op.create_table(
        "strategy_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("strategy_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("wit_version", sa.String(length=50), nullable=False),
        sa.Column("language", sa.String(length=50), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("deterministic", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        _created_at(),
        sa.CheckConstraint(
            "status IN ('validating', 'active', 'rejected', 'retired')",
            name=op.f("ck_strategy_versions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["content_hash"],
            ["component_blobs.content_hash"],
            name=op.f("fk_strategy_versions_content_hash_component_blobs"),
        ),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.id"],
            name=op.f("fk_strategy_versions_strategy_id_strategies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategy_versions")),
        sa.UniqueConstraint("strategy_id", "version", name=op.f("uq_strategy_versions_strategy_id_version")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_strategy_versions_content_hash"), "strategy_versions", ["content_hash"])
    op.create_table(
        "matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tournament_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("repetition", sa.Integer(), nullable=False),
        sa.Column("version_a_id", sa.Integer(), nullable=False),
        sa.Column("version_b_id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.Column("rounds_played", sa.Integer(), nullable=True),
        sa.Column("total_a", sa.Integer(), nullable=True),
        sa.Column("total_b", sa.Integer(), nullable=True),
        sa.Column("wins_a", sa.Integer(), nullable=True),
        sa.Column("wins_b", sa.Integer(), nullable=True),
        sa.Column("draws", sa.Integer(), nullable=True),
        sa.Column("forfeits_a", sa.Integer(), nullable=True),
        sa.Column("forfeits_b", sa.Integer(), nullable=True),
        sa.Column("forfeit_reason_a", sa.String(length=32), nullable=True),
        sa.Column("forfeit_reason_b", sa.String(length=32), nullable=True),
        sa.Column("detail_a", sa.Text(), nullable=True),
        sa.Column("detail_b", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('a', 'b', 'draw')", name=op.f("ck_matches_outcome")
        ),
        sa.CheckConstraint("status IN ('pending', 'finished')", name=op.f("ck_matches_status")),
        sa.ForeignKeyConstraint(
            ["tournament_id"],
            ["tournaments.id"],
            name=op.f("fk_matches_tournament_id_tournaments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_a_id"], ["strategy_versions.id"], name=op.f("fk_matches_version_a_id_strategy_versions")
        ),
        sa.ForeignKeyConstraint(
            ["version_b_id"], ["strategy_versions.id"], name=op.f("fk_matches_version_b_id_strategy_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matches")),
        sa.UniqueConstraint("tournament_id", "position", name=op.f("uq_matches_tournament_id_position")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_matches_version_a_id_version_b_id"), "matches", ["version_a_id", "version_b_id"])
    op.create_index(op.f("ix_matches_version_b_id"), "matches", ["version_b_id"])
    op.create_table(
        "tournament_entries",
        sa.Column("tournament_id", sa.Integer(), nullable=False),
        sa.Column("strategy_version_id", sa.Integer(), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["strategy_version_id"],
            ["strategy_versions.id"],
            name=op.f("fk_tournament_entries_strategy_version_id_strategy_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["tournament_id"],
            ["tournaments.id"],
            name=op.f("fk_tournament_entries_tournament_id_tournaments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tournament_id", "strategy_version_id", name=op.f("pk_tournament_entries")),
        sa.UniqueConstraint("tournament_id", "seat", name=op.f("uq_tournament_entries_tournament_id_seat")),
    )
    op.create_index(
        op.f("ix_tournament_entries_strategy_version_id"), "tournament_entries", ["strategy_version_id"]
    )
    op.create_table(
        "match_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("player", sa.String(length=1), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.CheckConstraint("player IN ('a', 'b')", name=op.f("ck_match_logs_player")),
        sa.ForeignKeyConstraint(
            ["match_id"], ["matches.id"], name=op.f("fk_match_logs_match_id_matches"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_logs")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_match_logs_match_id_id"), "match_logs", ["match_id", "id"])
    op.create_table(
        "rounds",
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("move_a", sa.Integer(), nullable=True),
        sa.Column("move_b", sa.Integer(), nullable=True),
        sa.Column("payoff_a", sa.Integer(), nullable=False),
        sa.Column("payoff_b", sa.Integer(), nullable=False),
        sa.Column("noise_a", sa.Boolean(), nullable=False),
        sa.Column("noise_b", sa.Boolean(), nullable=False),
        sa.Column("forfeit_a", sa.String(length=32), nullable=True),
        sa.Column("forfeit_b", sa.String(length=32), nullable=True),
        sa.Column("fuel_a", sa.BigInteger(), nullable=False),
        sa.Column("fuel_b", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["match_id"], ["matches.id"], name=op.f("fk_rounds_match_id_matches"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("match_id", "round", name=op.f("pk_rounds")),
    )


def downgrade() -> None:
    op.drop_table("rounds")
    op.drop_index(op.f("ix_match_logs_match_id_id"), table_name="match_logs")
    op.drop_table("match_logs")
    op.drop_index(op.f("ix_tournament_entries_strategy_version_id"), table_name="tournament_entries")
    op.drop_table("tournament_entries")
    op.drop_index(op.f("ix_matches_version_b_id"), table_name="matches")
    op.drop_index(op.f("ix_matches_version_a_id_version_b_id"), table_name="matches")
    op.drop_table("matches")
    op.drop_index(op.f("ix_strategy_versions_content_hash"), table_name="strategy_versions")
    op.drop_table("strategy_versions")
    op.drop_index(op.f("ix_tournaments_status"), table_name="tournaments")
    op.drop_index(op.f("ix_tournaments_game"), table_name="tournaments")
    op.drop_table("tournaments")
    op.drop_table("strategies")
    op.drop_table("component_blobs")
