"""Errors as RFC 9457 problem details, from ONE mapping of exception classes to HTTP statuses.

Library code raises the small vocabulary of ``curate.errors``; Litestar raises its own HTTP
exceptions (validation, auth, size limit, unknown route). Both become an
``application/problem+json`` body here and nowhere else.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from pydantic import BaseModel, ConfigDict

from curate import (
    ConfigError,
    ConflictError,
    DatasetFormatError,
    DecompressionLimit,
    InputError,
    MissingExtra,
    NotFoundError,
    TunesmithError,
)

log = logging.getLogger("tunesmith.api")

PROBLEM_JSON = "application/problem+json"


class IdempotencyMismatch(InputError):
    """An ``Idempotency-Key`` was reused with a different request body."""


class Unauthorized(TunesmithError):
    """No API key, an unknown one, or a revoked one."""


STATUS_BY_ERROR: dict[type[BaseException], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    IdempotencyMismatch: 422,
    ConfigError: 422,
    DecompressionLimit: 413,  # a gzip bomb: too large, like an upload over the size limit
    DatasetFormatError: 422,
    InputError: 400,
    Unauthorized: 401,
    MissingExtra: 501,
}
"""The one mapping from library exceptions to statuses; the most specific class wins (the
dict's order puts subclasses before their bases)."""


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    """A URI naming the kind of problem (``urn:tunesmith:problem:<slug>``)."""
    title: str
    """A short summary of the kind of problem (the HTTP reason phrase)."""
    status: int
    """The HTTP status code."""
    detail: str | None = None
    """What went wrong in this request, in words."""
    instance: str | None = None
    """The request path that failed."""


def status_of(exc: BaseException) -> int:
    """The HTTP status for an exception raised while handling a request."""
    if isinstance(exc, HTTPException):
        return exc.status_code
    for cls, status in STATUS_BY_ERROR.items():
        if isinstance(exc, cls):
            return status
    return 500


def problem(status: int, detail: str | None, instance: str | None, **extra: Any) -> Problem:
    """A problem object for ``status`` (title from the reason phrase, type from its slug)."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    slug = phrase.lower().replace(" ", "-").replace("'", "")
    return Problem(
        type=f"urn:tunesmith:problem:{slug}",
        title=phrase,
        status=status,
        detail=detail,
        instance=instance,
        **extra,
    )


def problem_response(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    """The app's one exception handler: any exception becomes a problem details response."""
    status = status_of(exc)
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if status >= 500 and not isinstance(exc, HTTPException):
        log.exception("internal error on %s %s", request.method, request.url.path)
        detail = "internal server error"
    elif isinstance(exc, HTTPException):
        detail = exc.detail
        if isinstance(exc, ValidationException) and exc.extra:
            extra["errors"] = exc.extra
        headers.update(getattr(exc, "headers", None) or {})
    else:
        detail = str(exc)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="tunesmith"'
    masker = getattr(request.app.state, "masker", None)
    if masker is not None:  # a reader's message may name the upload's file: never its path
        detail = masker.text(detail) if isinstance(detail, str) else detail
        extra = masker.obj(extra)
    body = problem(status, detail, request.url.path, **extra)
    return Response(
        content=body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )
