"""Request and response bodies of the API: they are what /openapi.json documents.

Responses are built from the services' own `to_dict()` output, so the CLI's `--json` and the API agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    detail: str = Field(description="What went wrong, in one line.")


class CheckOut(BaseModel):
    name: str = Field(
        description="size, compiles, exports, imports, instantiates, smoke-match, deterministic"
    )
    status: Literal["pass", "fail", "skip"]
    detail: str


class ReportOut(BaseModel):
    """The admission checks' report of one component."""

    content_hash: str
    size: int
    passed: bool
    checks: list[CheckOut]
    wit_version: str | None
    deterministic: bool | None
    uses_wasi: bool
    fuel_mean: float | None = Field(description="Mean fuel per move in the smoke matches.")
    fuel_max: int | None
    instantiate_ms: float | None


class VersionOut(BaseModel):
    version: str
    status: Literal["validating", "active", "rejected", "retired"]
    content_hash: str
    size: int
    language: str
    wit_version: str
    deterministic: bool


class SubmissionOut(BaseModel):
    """201: stored and active; 200: identical bytes were already stored (nothing changed)."""

    outcome: Literal["stored", "rejected", "identical"]
    message: str
    strategy: str
    version: VersionOut
    report: ReportOut | None
    rejection_reasons: list[str]


class RejectedOut(BaseModel):
    """422: the component failed validation; the rejected version is stored with its report."""

    detail: str = Field(description="`rejected: NAME X.Y.Z failed validation: check: reason; ...`")
    outcome: Literal["rejected"]
    strategy: str
    version: VersionOut
    report: ReportOut
    rejection_reasons: list[str]


class StrategyOut(BaseModel):
    name: str
    version: str = Field(description="The current version: the newest active one, else the newest.")
    status: str
    language: str
    games: list[str]
    owner: str | None
    size: int
    builtin: bool
    deterministic: bool
    description: str


class VersionDetailOut(BaseModel):
    version: str
    status: str
    current: bool = Field(description="Whether new tournaments pick this version.")
    content_hash: str
    size: int
    language: str
    wit_version: str
    deterministic: bool
    created_at: datetime
    report: ReportOut | None
    rejection_reasons: list[str]


class StrategyDetailOut(BaseModel):
    name: str
    description: str
    games: list[str]
    builtin: bool
    owner: str | None
    created_at: datetime
    current_version: str | None
    versions: list[VersionDetailOut] = Field(description="Newest first.")


class RetireIn(BaseModel):
    version: str | None = Field(default=None, description="The version to retire (default: the current one).")


class RetireOut(BaseModel):
    changed: bool = Field(description="False when the version was already retired.")
    message: str
    strategy: str
    version: VersionOut
    current_version: str | None = Field(description="What new tournaments use now (None: nothing).")


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    kind: Literal["submitted", "validated", "state-changed", "forfeit", "author-created"]
    actor: str
    strategy: str | None
    version: str | None
    match_id: int | None
    detail: dict[str, Any]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Malformed name, version or games."},
    401: {"model": ErrorOut, "description": "Missing or invalid API token."},
    403: {"model": ErrorOut, "description": "Not the strategy's owner (nor an admin)."},
    404: {"model": ErrorOut, "description": "Unknown strategy or version."},
}
