"""``create_app()``: the Litestar application of the REST service.

The app owns the store (``api.db``) and the job supervisor (``api.jobs.supervisor``); both live
for the app's lifespan. Routes are thin: parse a model, call the library or the queue, return a
model. Errors become problem details in ``api.errors``, the one mapping.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from api.auth import BearerAuth
from api.config import ServerConfig
from api.controllers.artifacts import ArtifactController
from api.controllers.datasets import DatasetController
from api.controllers.gate import GateController, GateRequest
from api.controllers.health import HealthController, _version
from api.controllers.jobs import JobController
from api.db import Db
from api.errors import problem_response
from api.jobs.supervisor import Supervisor
from api.openapi import fix_schema
from curate import home

PUBLIC = ["^/health", "^/schema"]
"""Routes that need no API key."""


def create_app(config: ServerConfig | None = None) -> Litestar:
    """Build the app; the store opens and the supervisor starts in its lifespan."""
    config = config or ServerConfig()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        root = Path(config.home) if config.home else home()
        os.environ["TUNESMITH_HOME"] = str(root)  # library calls in this process agree
        db = Db(root / "tunesmith.duckdb")
        _clean_after_crash(db)
        supervisor = Supervisor(db, config)
        app.state.db, app.state.supervisor, app.state.config = db, supervisor, config
        await supervisor.start()
        try:
            yield
        finally:
            await supervisor.stop()
            db.close()

    openapi = OpenAPIConfig(
        title="tunesmith",
        version=_version(),
        description="Curation, synthesis, training, evaluation and gating as durable jobs.",
        path="/schema",
        render_plugins=[SwaggerRenderPlugin(path="/"), JsonRenderPlugin(path="/openapi.json")],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="An API key from `tunesmith keys create`",
                ),
            }
        ),
    )
    app = Litestar(
        route_handlers=[
            HealthController,
            DatasetController,
            JobController,
            ArtifactController,
            GateController,
        ],
        lifespan=[lifespan],
        middleware=[DefineMiddleware(BearerAuth, exclude=PUBLIC)],
        exception_handlers={Exception: problem_response},
        openapi_config=openapi,
        request_max_body_size=config.max_body_bytes,
        debug=False,
    )
    fix_schema(app, [GateRequest])
    return app


def _clean_after_crash(db: Db) -> None:
    """Forget what requests in flight left when the last server died: partial uploads, and
    Idempotency-Keys still marked in progress (their requests never answered; a retry may run)."""
    for part in (db.root / "uploads" / ".incoming").glob("*.part"):
        part.unlink(missing_ok=True)
    db.main.con.execute("DELETE FROM idempotency_keys WHERE status_code IS NULL")
