"""Reading a multipart upload without letting its size get out of hand.

The size cap is enforced before the form is parsed: a declared Content-Length over the cap is refused
without reading a byte, and a body without one (chunked) is counted as it streams in and cut off at the
cap. Parsed file parts are spooled to disk by Starlette beyond 1 MiB, never held whole in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request, status
from starlette.datastructures import FormData, UploadFile
from starlette.types import Message, Receive

from tournament.authoring.sizes import binary_size

FORM_OVERHEAD = 256 * 1024
"""Room for the multipart framing and the small text fields next to the component."""
MAX_FIELDS = 8


@dataclass(frozen=True, slots=True)
class Upload:
    """The fields of a submission form."""

    data: bytes
    version: str | None
    description: str | None
    games: list[str]
    language: str | None


def _too_large(cap: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"upload too large: a component may be at most {binary_size(cap)} ({cap:,} bytes)",
    )


def _counting(receive: Receive, limit: int, cap: int) -> Receive:
    """``receive`` that fails with 413 as soon as more than ``limit`` body bytes have arrived."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _too_large(cap)
        return message

    return counted


def _text(form: FormData, field: str) -> str | None:
    value = form.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"field {field!r} must be text, not a file"
        )
    return value.strip() or None


async def read_upload(request: Request, cap: int) -> Upload:
    """The submission form of ``request``: 413 beyond ``cap``, 422 without a `file` part."""
    limit = cap + FORM_OVERHEAD
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(cap)
    limited = Request(request.scope, _counting(request.receive, limit, cap))
    async with limited.form(max_files=1, max_fields=MAX_FIELDS) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                "missing the component: send it as the multipart file field 'file'",
            )
        data = await upload.read(cap + 1)
        if len(data) > cap:
            raise _too_large(cap)
        games = _text(form, "games")
        return Upload(
            data=data,
            version=_text(form, "version"),
            description=_text(form, "description"),
            games=[] if games is None else [g.strip() for g in games.split(",") if g.strip()],
            language=_text(form, "language"),
        )


UPLOAD_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The component (.wasm).",
                        },
                        "version": {"type": "string", "description": "Semver label (default: next patch)."},
                        "description": {"type": "string"},
                        "games": {
                            "type": "string",
                            "description": "Comma-separated games (default: as before, rps when new).",
                        },
                        "language": {"type": "string", "description": "Source language, shown in listings."},
                    },
                }
            }
        },
    }
}
"""The OpenAPI description of the form that `read_upload` parses by hand."""
