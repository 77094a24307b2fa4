"""``create_app()``: the Litestar application of the REST service.

The app owns the store (``api.db``) and the job supervisor (``api.jobs.supervisor``); both live
for the app's lifespan. Routes are thin: parse a model, call the library or the queue, return a
model. Errors become problem details in ``api.errors``, the one mapping.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from litestar import Litestar
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.routes import HTTPRoute

from api import admin
from api.auth import BearerAuth
from api.config import ServerConfig
from api.controllers.admin import AdminController
from api.controllers.artifacts import ArtifactController
from api.controllers.datasets import DatasetController
from api.controllers.gate import GateController, GateRequest
from api.controllers.health import HealthController, _version
from api.controllers.jobs import JobController
from api.db import Db
from api.errors import problem_response
from api.headers import SecurityHeaders
from api.ingest import Readers
from api.jobs.supervisor import Supervisor
from api.masking import Masker
from api.openapi import DocsPage, Document
from curate import home

PUBLIC = ["^/health", "^/schema", "^/admin/"]
"""Routes that need no API key (``/admin`` checks the server's admin secret itself)."""


def create_app(config: ServerConfig | None = None) -> Litestar:
    """Build the app; the store opens and the supervisor starts in its lifespan."""
    config = config or ServerConfig()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        root = Path(config.home) if config.home else home()
        os.environ["TUNESMITH_HOME"] = str(root)  # library calls in this process agree
        db = Db(root / "tunesmith.duckdb")
        clean_after_crash(db, config)
        masker = Masker.for_server(db.root, config.models, config.templates)
        supervisor = Supervisor(db, config, masker)
        app.state.db, app.state.supervisor, app.state.config = db, supervisor, config
        app.state.masker = masker
        app.state.admin_secret = admin.publish(db.root, config)
        app.state.readers = readers = Readers(db.root, config.ingest_memory_bytes)
        readers.start()
        await supervisor.start()
        try:
            yield
        finally:
            admin.withdraw(db.root)
            await readers.stop()
            await supervisor.stop()
            db.close()

    openapi = OpenAPIConfig(
        title="tunesmith",
        version=_version(),
        description=(
            "Curation, synthesis, training, evaluation and gating as durable jobs. JSON bodies "
            "are nested at most 64 deep and typed strictly; model and template fields take the "
            "names this server offers; an Idempotency-Key is remembered for "
            f"{config.idempotency_ttl_s:g} s."
        ),
        path="/schema",
        render_plugins=[Document(config, [GateRequest]), DocsPage()],
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
    allow: dict[str, str] = {}
    app = Litestar(
        route_handlers=[
            HealthController,
            DatasetController,
            JobController,
            ArtifactController,
            GateController,
            AdminController,
        ],
        lifespan=[lifespan],
        middleware=[
            DefineMiddleware(SecurityHeaders, allow=allow),
            DefineMiddleware(BearerAuth, exclude=PUBLIC),
        ],
        exception_handlers={Exception: problem_response},
        openapi_config=openapi,
        request_max_body_size=config.max_body_bytes,
        debug=False,
    )
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            allow[route.path_format] = ", ".join(sorted(route.methods))
    return app


def clean_after_crash(db: Db, config: ServerConfig) -> None:
    """Forget what requests in flight left when the last server died: partial uploads and the
    readers' stores, uploaded files no dataset was read from (a crash mid-read), expired
    Idempotency-Keys, and keys still marked in progress (their requests never answered)."""
    uploads = db.root / "uploads"
    for leftover in (uploads / ".incoming").glob("*"):
        if leftover.is_file():
            leftover.unlink(missing_ok=True)
    used = {
        Path(p).resolve() for (p,) in db.main.con.execute("SELECT path FROM datasets").fetchall()
    }
    for file in uploads.glob("*"):
        if file.is_file() and file.resolve() not in used:
            file.unlink(missing_ok=True)
    cutoff = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=config.idempotency_ttl_s)
    db.main.con.execute(
        "DELETE FROM idempotency_keys WHERE status_code IS NULL OR created_at < ?", [cutoff]
    )
