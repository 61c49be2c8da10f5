"""Typed ORM models: the schema that migrations/versions creates (tests check that the two agree).

Repository functions in this package are the supported way to read and write these tables; the models are
public so that services can write ad-hoc read queries without raw SQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy import (
    false as sa_false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names, so later migrations (and SQLite batch mode) can refer to them."""

VERSION_STATUSES = ("validating", "active", "rejected", "retired")
TOURNAMENT_STATUSES = ("pending", "running", "finished", "failed", "cancelled")
MATCH_STATUSES = ("pending", "finished", "failed")
AUDIT_KINDS = ("submitted", "validated", "state-changed", "forfeit", "author-created")
OUTCOMES = ("a", "b", "draw")
PLAYERS = ("a", "b")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only kind of timestamp stored)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always aware UTC in Python, also on SQLite (which stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store timezone-aware UTC timestamps")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    """The one declarative base; its metadata is the migrations' autogenerate target."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class ComponentBlob(Base):
    """Content-addressed component bytes: identical uploads are stored once, whatever their name."""

    __tablename__ = "component_blobs"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    """sha256 of ``data``, lowercase hex."""
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class Author(Base):
    """Someone who submits strategies over the API; only the hash of their token is kept."""

    __tablename__ = "authors"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """sha256 hex of the API token; the token itself is shown once and never stored."""
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    """Admins may submit versions of and retire any strategy, built-ins included."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class Strategy(Base):
    """A named strategy; its code lives in versions, so tournaments can pin exact builds."""

    __tablename__ = "strategies"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    """kebab-case, unique across all strategies."""
    description: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(200))
    games: Mapped[list[str]] = mapped_column(JSON)
    """Names of the games this strategy plays."""
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("authors.id"))
    """The author who may submit and retire versions (None: built-ins and operator-only strategies)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class StrategyTag(Base):
    """A label organizers select participants by (``--tags ladder``); a strategy has any number."""

    __tablename__ = "strategy_tags"
    __table_args__ = (Index(None, "tag"),)

    strategy_id: Mapped[int] = mapped_column(
        ForeignKey("strategies.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)


class StrategyVersion(Base):
    """One uploaded build of a strategy, identified by its component's content hash."""

    __tablename__ = "strategy_versions"
    __table_args__ = (
        UniqueConstraint("strategy_id", "version"),
        Index(None, "content_hash"),
        CheckConstraint(_in("status", VERSION_STATUSES), name="status"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    strategy_id: Mapped[int] = mapped_column(ForeignKey("strategies.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(100))
    """semver label, e.g. ``1.2.0`` or ``1.0.0+ab12cd34`` for a rebuilt built-in."""
    content_hash: Mapped[str] = mapped_column(ForeignKey("component_blobs.content_hash"))
    wit_version: Mapped[str] = mapped_column(String(50))
    language: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    deterministic: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20), default="active")
    validation_report: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    """The admission checks' report (ValidationReport.to_dict()); None for built-ins and direct inserts."""
    rejection_reasons: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    """One line per failed check when the version was rejected."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class Schedule(Base):
    """A tournament template fired by a cron expression in a time zone."""

    __tablename__ = "schedules"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    cron: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    """IANA zone name the cron fields are read in (``Europe/Paris``, ``UTC``)."""
    template: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Game, rounds, repetitions, noise, limits, participant selection and seed policy."""
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_run_at: Mapped[datetime | None]
    """The next slot to fire (UTC); claimed by a compare-and-set so two schedulers never fire it twice."""
    last_run_at: Mapped[datetime | None]
    """The slot of the latest run started for this schedule."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class Tournament(Base):
    """Everything needed to replay a tournament: game, sizes, seed, noise, limits and engine version."""

    __tablename__ = "tournaments"
    __table_args__ = (
        Index(None, "game"),
        Index(None, "status"),
        UniqueConstraint("schedule_id", "scheduled_for"),
        CheckConstraint(_in("status", TOURNAMENT_STATUSES), name="status"),
        CheckConstraint("seed >= 0", name="seed"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    game: Mapped[str] = mapped_column(String(64))
    rounds: Mapped[int] = mapped_column(Integer)
    repetitions: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    noise: Mapped[float] = mapped_column(Float)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Limits and other settings, opaque to the persistence layer."""
    engine_version: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedules.id", ondelete="SET NULL"))
    """The schedule that started this run (None: started by hand)."""
    scheduled_for: Mapped[datetime | None]
    """The schedule slot this run stands for; unique per schedule, so no slot ever runs twice."""
    runner: Mapped[str | None] = mapped_column(String(200))
    """Who holds the run lease: ``host:pid:nonce`` of the process playing the matches (None: nobody)."""
    heartbeat_at: Mapped[datetime | None]
    """When the runner last renewed its lease; a lease not renewed for a while is stale."""
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    """Set by ``tournament cancel``; the runner stops at the next match boundary."""


class TournamentEntry(Base):
    """A participant of a tournament, pinned to an exact strategy version."""

    __tablename__ = "tournament_entries"
    __table_args__ = (
        UniqueConstraint("tournament_id", "seat"),
        Index(None, "strategy_version_id"),
    )

    tournament_id: Mapped[int] = mapped_column(
        ForeignKey("tournaments.id", ondelete="CASCADE"), primary_key=True
    )
    strategy_version_id: Mapped[int] = mapped_column(ForeignKey("strategy_versions.id"), primary_key=True)
    seat: Mapped[int] = mapped_column(Integer)
    """Order of the participant in the tournament (from 0)."""


class Match(Base):
    """One planned or played match; totals stay NULL until it is finished."""

    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("tournament_id", "position"),
        Index(None, "version_a_id", "version_b_id"),
        Index(None, "version_b_id"),
        CheckConstraint(_in("status", MATCH_STATUSES), name="status"),
        CheckConstraint(f"outcome IS NULL OR {_in('outcome', OUTCOMES)}", name="outcome"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    """Order of the match within its tournament (from 0)."""
    repetition: Mapped[int] = mapped_column(Integer)
    version_a_id: Mapped[int] = mapped_column(ForeignKey("strategy_versions.id"))
    version_b_id: Mapped[int] = mapped_column(ForeignKey("strategy_versions.id"))
    seed: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    outcome: Mapped[str | None] = mapped_column(String(10))
    rounds_played: Mapped[int | None] = mapped_column(Integer)
    total_a: Mapped[int | None] = mapped_column(Integer)
    total_b: Mapped[int | None] = mapped_column(Integer)
    wins_a: Mapped[int | None] = mapped_column(Integer)
    wins_b: Mapped[int | None] = mapped_column(Integer)
    draws: Mapped[int | None] = mapped_column(Integer)
    forfeits_a: Mapped[int | None] = mapped_column(Integer)
    forfeits_b: Mapped[int | None] = mapped_column(Integer)
    forfeit_reason_a: Mapped[str | None] = mapped_column(String(32))
    """The first forfeit reason seen for A (a ForfeitReason value)."""
    forfeit_reason_b: Mapped[str | None] = mapped_column(String(32))
    detail_a: Mapped[str | None] = mapped_column(Text)
    """The first forfeit's message for A (trap text, illegal value, ...)."""
    detail_b: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    """Why the match could not be played (status 'failed'): the engine's fault, never a strategy's forfeit."""


class RoundBlock(Base):
    """Consecutive rounds of a match, packed (the format: `tournament.persistence.round_blocks`).

    A match's rounds are one row per block of up to 1,024 rounds rather than a row per round: recording
    a 200-round match binds and inserts one row instead of 200 (see `round_blocks`). Read them through
    `round_blocks.decode`, never by unpacking ``data`` by hand.
    """

    __tablename__ = "round_blocks"

    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"), primary_key=True)
    first_round: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rounds: Mapped[int] = mapped_column(Integer)
    """How many consecutive rounds, from ``first_round``."""
    width: Mapped[int] = mapped_column(Integer)
    """Bytes per packed value: 1, 2, 4 or 8."""
    data: Mapped[bytes] = mapped_column(LargeBinary)


class MatchLog(Base):
    """A line a strategy logged through the host's ``log`` import during a match."""

    __tablename__ = "match_logs"
    __table_args__ = (
        Index(None, "match_id", "id"),
        CheckConstraint(_in("player", PLAYERS), name="player"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"))
    player: Mapped[str] = mapped_column(String(1))
    round: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)


class AuditEvent(Base):
    """One entry of the append-only audit log: submissions, validations, state changes, forfeits, authors.

    Strategy and version references survive their rows (SET NULL); ``match_id`` is a plain number, so the
    log outlives deleted tournaments.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index(None, "strategy_id", "id"),
        CheckConstraint(_in("kind", AUDIT_KINDS), name="kind"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    kind: Mapped[str] = mapped_column(String(20))
    """'submitted' | 'validated' | 'state-changed' | 'forfeit' | 'author-created'."""
    actor: Mapped[str] = mapped_column(String(64))
    """Who acted: an author's name, 'cli' (the local operator) or 'engine' (a tournament run)."""
    strategy_id: Mapped[int | None] = mapped_column(ForeignKey("strategies.id", ondelete="SET NULL"))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("strategy_versions.id", ondelete="SET NULL"))
    match_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
