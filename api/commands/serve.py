"""``tunesmith serve``: run the REST service under uvicorn."""

from __future__ import annotations

from pathlib import Path

import click

from api.config import DEFAULT_CONCURRENCY, JOB_TYPES, ServerConfig
from curate import InputError


def _concurrency(values: tuple[str, ...]) -> dict[str, int]:
    limits = dict(DEFAULT_CONCURRENCY)
    for value in values:
        job_type, _, n = value.partition("=")
        if job_type not in JOB_TYPES or not n.isdigit():
            raise InputError(
                f"--jobs {value!r}: expected TYPE=N with TYPE one of {', '.join(JOB_TYPES)}"
            )
        limits[job_type] = int(n)
    return limits


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to bind.")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Store folder (default: $TUNESMITH_HOME or ./.tunesmith).",
)
@click.option(
    "--max-upload-mb",
    type=float,
    default=1024,
    show_default=True,
    help="Largest dataset upload; larger ones get 413.",
)
@click.option(
    "--jobs",
    "jobs",
    multiple=True,
    metavar="TYPE=N",
    help="Jobs of TYPE that may run at once (repeatable; 0 keeps them queued).",
)
@click.option(
    "--heartbeat",
    type=float,
    default=15.0,
    show_default=True,
    help="Seconds between SSE heartbeats.",
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def serve(
    host: str,
    port: int,
    home: Path | None,
    max_upload_mb: float,
    jobs: tuple[str, ...],
    heartbeat: float,
    log_level: str,
) -> None:
    """Serve the REST API (OpenAPI at /schema); jobs run in worker processes."""
    import uvicorn

    from api.app import create_app

    config = ServerConfig(
        home=home,
        max_upload_bytes=int(max_upload_mb * (1 << 20)),
        concurrency=_concurrency(jobs),
        heartbeat_s=heartbeat,
    )
    uvicorn.run(
        create_app(config), host=host, port=port, log_level=log_level, timeout_graceful_shutdown=3
    )
