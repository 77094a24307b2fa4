"""One controller per area: health, datasets, jobs, artifacts, eval/gate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar import Request
from litestar.openapi import ResponseSpec

from api.errors import PROBLEM_JSON, Problem

if TYPE_CHECKING:
    from api.config import ServerConfig
    from api.db import Db
    from api.jobs.supervisor import Supervisor
    from api.masking import Masker

_WHY = {
    400: "Bad input: a parameter or body that does not validate",
    401: "No API key, or an unknown or revoked one",
    404: "No such resource for this API key",
    409: "Conflicts with the current state (or an Idempotency-Key still in progress)",
    413: "The body is larger than the limit (or has too many multipart parts, or the dataset "
    "needs more memory to read than the server allows)",
    415: "The body is not in a media type this route reads",
    422: "Well-formed but unusable (a dataset the readers cannot read; a reused "
    "Idempotency-Key with a different body)",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem-details responses a route can give."""
    return {
        s: ResponseSpec(
            data_container=Problem,
            description=_WHY[s],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for s in (401, *statuses)
    }


def owner(request: Request) -> str:
    """The id of the API key making the request."""
    return str(request.user.id)


def db(request: Request) -> Db:
    """The server's store."""
    return request.app.state.db  # type: ignore[no-any-return]


def supervisor(request: Request) -> Supervisor:
    """The job supervisor."""
    return request.app.state.supervisor  # type: ignore[no-any-return]


def config(request: Request) -> ServerConfig:
    """The server's settings."""
    return request.app.state.config  # type: ignore[no-any-return]


def masker(request: Request) -> Masker:
    """What replaces server folders in what a tenant reads."""
    return request.app.state.masker  # type: ignore[no-any-return]
