"""``GET /health``: no key needed."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version

from litestar import Controller, Request, get

from api.controllers import supervisor
from api.schemas import Health


@cache  # reading the installed metadata takes milliseconds: once per process
def _version() -> str:
    try:
        return version("tunesmith")
    except PackageNotFoundError:
        return "0+unknown"


class HealthController(Controller):
    """Liveness."""

    path = "/health"
    tags = ("health",)

    @get("/", summary="Is the service up")
    async def health(self, request: Request) -> Health:
        """The service answers; how many jobs run now."""
        return Health(version=_version(), jobs_running=sum(supervisor(request).active.values()))
