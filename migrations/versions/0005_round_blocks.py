"""Store a match's rounds packed in blocks (``round_blocks``) instead of a row per round (``rounds``).

Recording a 200-round match inserted 200 rows; now it inserts one (the format and the reasons:
``tournament.persistence.round_blocks``, whose codec this migration uses: the format is frozen, so the
codec is part of the schema). Every stored round is converted, one match at a time, so memory stays
flat however large the database; the downgrade converts them back. The old table is a frozen snapshot
of 0004's. The conversion reads rows, so it cannot run as an offline ``--sql`` script.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from tournament.persistence import round_blocks

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000
"""Rows (or blocks) written per executemany while converting."""
_ROUND_COLUMNS = (
    "round", "move_a", "move_b", "payoff_a", "payoff_b", "noise_a", "noise_b", "forfeit_a", "forfeit_b",
    "fuel_a", "fuel_b",
)  # fmt: skip


def _tables() -> tuple[sa.Table, sa.Table]:
    """(rounds, round_blocks), in a metadata that also knows their parent (never created here)."""
    metadata = sa.MetaData()
    sa.Table("matches", metadata, sa.Column("id", sa.Integer(), primary_key=True))
    return _rounds(metadata), _blocks(metadata)


def _rounds(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "rounds",
        metadata,
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
            ["match_id"], ["matches.id"], name="fk_rounds_match_id_matches", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("match_id", "round", name="pk_rounds"),
        sqlite_with_rowid=False,
    )


def _blocks(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "round_blocks",
        metadata,
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("first_round", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["match_id"], ["matches.id"], name="fk_round_blocks_match_id_matches", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("match_id", "first_round", name="pk_round_blocks"),
    )


def _online() -> sa.Connection:
    if context.is_offline_mode():
        raise RuntimeError("migration 0005 converts stored rounds: run it online, not as a --sql script")
    return op.get_bind()


def _batches(rows: Iterator[Any]) -> Iterator[list[Any]]:
    while batch := list(itertools.islice(rows, _BATCH)):
        yield batch


def upgrade() -> None:
    connection = _online()
    rounds, blocks = _tables()
    blocks.create(connection)
    source = connection.execute(
        sa.select(rounds.c.match_id, *(rounds.c[name] for name in _ROUND_COLUMNS)).order_by(
            rounds.c.match_id, rounds.c.round
        ),
        execution_options={"yield_per": _BATCH},
    )

    def packed() -> Iterator[dict[str, Any]]:
        for match_id, rows in itertools.groupby(source, key=lambda row: row[0]):
            for block in round_blocks.encode([tuple(row[1:]) for row in rows]):
                yield {
                    "match_id": match_id,
                    "first_round": block.first_round,
                    "rounds": block.rounds,
                    "width": block.width,
                    "data": block.data,
                }

    for batch in _batches(packed()):
        connection.execute(sa.insert(blocks), batch)
    source.close()
    rounds.drop(connection)


def downgrade() -> None:
    connection = _online()
    rounds, blocks = _tables()
    rounds.create(connection)
    source = connection.execute(
        sa.select(
            blocks.c.match_id, blocks.c.first_round, blocks.c.rounds, blocks.c.width, blocks.c.data
        ).order_by(blocks.c.match_id, blocks.c.first_round),
        execution_options={"yield_per": 100},
    )

    def unpacked() -> Iterator[dict[str, Any]]:
        for match_id, first_round, count, width, data in source:
            for row in round_blocks.decode(round_blocks.Block(first_round, count, width, bytes(data))):
                values = dict(zip(_ROUND_COLUMNS, row, strict=True))
                for side in ("forfeit_a", "forfeit_b"):
                    if values[side] is not None:
                        values[side] = str(values[side])
                yield {"match_id": match_id, **values}

    for batch in _batches(unpacked()):
        connection.execute(sa.insert(rounds), batch)
    source.close()
    blocks.drop(connection)
