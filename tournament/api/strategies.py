"""`/api/strategies`: list, inspect, submit (multipart upload) and retire strategies."""

from __future__ import annotations

import functools
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, Depends, Request, status
from fastapi.responses import JSONResponse

from tournament.api.auth import CurrentAuthor
from tournament.api.context import ApiContext, get_context
from tournament.api.schemas import (
    ERROR_RESPONSES,
    ErrorOut,
    RejectedOut,
    ReportOut,
    RetireIn,
    RetireOut,
    StrategyDetailOut,
    StrategyOut,
    SubmissionOut,
    VersionDetailOut,
)
from tournament.api.uploads import UPLOAD_REQUEST_BODY, read_upload
from tournament.persistence.strategies import validate_name, validate_version
from tournament.services import submissions

router = APIRouter(prefix="/api/strategies", tags=["strategies"])
Context = Annotated[ApiContext, Depends(get_context)]


@router.get("", response_model=list[StrategyOut])
def list_strategies(context: Context) -> list[dict[str, Any]]:
    """Every strategy with its current version (the one new tournaments pick), by name."""
    return [row.to_dict() for row in submissions.list_strategies(context.database)]


@router.get("/{name}", response_model=StrategyDetailOut, responses={404: ERROR_RESPONSES[404]})
def show_strategy(name: str, context: Context) -> StrategyDetailOut:
    """A strategy with every version (newest first): state, size, language, validation report, reasons."""
    detail = submissions.show_strategy(context.database, name)
    versions = []
    for version in detail.versions:
        report = version.parsed_report
        fields = {**version.to_dict(), "report": None if report is None else report.to_dict()}
        versions.append(VersionDetailOut.model_validate(fields))
    return StrategyDetailOut.model_validate({**detail.to_dict(), "versions": versions})


@router.post(
    "/{name}/versions",
    status_code=status.HTTP_201_CREATED,
    response_model=SubmissionOut,
    responses={
        200: {
            "model": SubmissionOut,
            "description": "Identical bytes are already a version: nothing stored.",
        },
        **ERROR_RESPONSES,
        409: {
            "model": ErrorOut,
            "description": "The version label is taken by other bytes, or a built-in's name.",
        },
        413: {"model": ErrorOut, "description": "Over the component size cap."},
        422: {"model": RejectedOut, "description": "Rejected by validation (stored, with its report)."},
        503: {"model": ErrorOut, "description": "Validation could not run; submit again."},
    },
    openapi_extra=UPLOAD_REQUEST_BODY,
)
async def submit_version(name: str, request: Request, actor: CurrentAuthor, context: Context) -> JSONResponse:
    """Upload a component as a new version of `name` (created on first upload, owned by the uploader).

    The component is validated in an isolated process; it becomes active (201) or is stored as rejected
    with its reasons (422). Only the owner or an admin may add versions to an existing strategy.
    """
    validate_name(name)
    upload = await read_upload(request, context.policy.max_size)
    if upload.version is not None:
        validate_version(upload.version)
    submit = functools.partial(
        submissions.submit_strategy,
        context.database,
        upload.data,
        name=name,
        version=upload.version,
        description=upload.description,
        games=upload.games,
        language=upload.language,
        actor=actor,
        validate=context.validate,
        policy=context.policy,
    )
    result = await anyio.to_thread.run_sync(submit, limiter=context.validations)
    body = result.to_dict()
    if body["report"] is not None:
        body["report"] = ReportOut.model_validate(body["report"]).model_dump(mode="json")
    if result.outcome == "rejected":
        return JSONResponse({"detail": result.message, **body}, status_code=422)
    code = status.HTTP_200_OK if result.outcome == "identical" else status.HTTP_201_CREATED
    return JSONResponse(SubmissionOut.model_validate(body).model_dump(mode="json"), status_code=code)


@router.post("/{name}/retire", response_model=RetireOut, responses=ERROR_RESPONSES)
def retire(
    name: str, actor: CurrentAuthor, context: Context, body: Annotated[RetireIn | None, Body()] = None
) -> dict[str, Any]:
    """Retire a version (default: the current one): no new tournament picks it; started ones keep it."""
    version = None if body is None else body.version
    return submissions.retire(context.database, name, version, actor=actor).to_dict()
