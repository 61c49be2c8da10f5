"""The append-only audit log: who submitted what, how it was judged, what changed state, who forfeited.

Events are written in the same transaction as the change they describe, so the log never claims a change
that was rolled back. Functions take a Session and flush but never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tournament.persistence.models import AUDIT_KINDS, AuditEvent, Strategy, StrategyVersion

MAX_AUDIT_LIMIT = 1000
"""Most events one query returns."""


@dataclass(frozen=True, slots=True)
class AuditEventInfo:
    """One audit event with the names of the strategy and version it concerns (None once deleted)."""

    id: int
    at: datetime
    kind: str
    """'submitted' | 'validated' | 'state-changed' | 'forfeit' | 'author-created'."""
    actor: str
    strategy: str | None
    version: str | None
    match_id: int | None
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the timestamp in ISO 8601, UTC)."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "actor": self.actor,
            "strategy": self.strategy,
            "version": self.version,
            "match_id": self.match_id,
            "detail": self.detail,
        }


def record_event(
    session: Session,
    kind: str,
    actor: str,
    *,
    strategy_id: int | None = None,
    version_id: int | None = None,
    match_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event (a ValueError for an unknown kind, before anything is written)."""
    if kind not in AUDIT_KINDS:
        raise ValueError(f"invalid audit event kind {kind!r}: one of {', '.join(AUDIT_KINDS)}")
    if strategy_id is None and version_id is not None:
        strategy_id = session.scalar(
            select(StrategyVersion.strategy_id).where(StrategyVersion.id == version_id)
        )
    session.add(
        AuditEvent(
            kind=kind,
            actor=actor,
            strategy_id=strategy_id,
            version_id=version_id,
            match_id=match_id,
            detail=dict(detail or {}),
        )
    )
    session.flush()


def list_events(session: Session, *, strategy_id: int | None = None, limit: int = 50) -> list[AuditEventInfo]:
    """The newest ``limit`` events (of one strategy, if given), newest first."""
    if not 1 <= limit <= MAX_AUDIT_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_AUDIT_LIMIT}, got {limit}")
    query = (
        select(AuditEvent, Strategy.name, StrategyVersion.version)
        .outerjoin(Strategy, AuditEvent.strategy_id == Strategy.id)
        .outerjoin(StrategyVersion, AuditEvent.version_id == StrategyVersion.id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    if strategy_id is not None:
        query = query.where(AuditEvent.strategy_id == strategy_id)
    return [
        AuditEventInfo(
            id=event.id,
            at=event.at,
            kind=event.kind,
            actor=event.actor,
            strategy=name,
            version=version,
            match_id=event.match_id,
            detail=dict(event.detail),
        )
        for event, name, version in session.execute(query)
    ]
