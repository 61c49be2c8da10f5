"""`/api/audit`: the audit log, newest first, optionally for one strategy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from tournament.api.context import ApiContext, get_context
from tournament.api.schemas import ERROR_RESPONSES, AuditEventOut
from tournament.persistence.audit import MAX_AUDIT_LIMIT
from tournament.services.submissions import audit_log

router = APIRouter(prefix="/api", tags=["audit"])


@router.get("/audit", response_model=list[AuditEventOut], responses={404: ERROR_RESPONSES[404]})
def audit(
    context: Annotated[ApiContext, Depends(get_context)],
    strategy: Annotated[str | None, Query(description="Only events of this strategy.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_LIMIT, description="Most events returned.")] = 50,
) -> list[dict[str, Any]]:
    """Submissions, validation results, state changes, forfeits and new authors, newest first."""
    return [event.to_dict() for event in audit_log(context.database, strategy, limit)]
