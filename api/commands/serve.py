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


def _pairs(option: str, values: tuple[str, ...]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        name, _, target = value.partition("=")
        if not name or not target:
            raise InputError(f"{option} {value!r}: expected NAME=PATH")
        pairs[name] = target
    return pairs


def _local(host: str) -> str:
    """How a command on this machine reaches a server bound to ``host``."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


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
    "--model",
    "models",
    multiple=True,
    metavar="NAME=FOLDER",
    help="A model tenants may name in jobs, beside the built-in aliases (repeatable).",
)
@click.option(
    "--template",
    "templates",
    multiple=True,
    metavar="NAME=FILE",
    help="A chat template (Jinja file) tenants may name in train jobs (repeatable).",
)
@click.option(
    "--idempotency-ttl",
    type=float,
    default=24 * 3600.0,
    show_default=True,
    help="Seconds an Idempotency-Key is remembered.",
)
@click.option(
    "--ingest-memory-mb",
    type=float,
    default=4096,
    show_default=True,
    help="Memory limit of the child process that reads an upload; more is 413.",
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
    models: tuple[str, ...],
    templates: tuple[str, ...],
    idempotency_ttl: float,
    ingest_memory_mb: float,
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
        models=_pairs("--model", models),
        templates={k: Path(v) for k, v in _pairs("--template", templates).items()},
        idempotency_ttl_s=idempotency_ttl,
        ingest_memory_bytes=int(ingest_memory_mb * (1 << 20)),
        url=f"http://{_local(host)}:{port}",
    )
    uvicorn.run(
        create_app(config), host=host, port=port, log_level=log_level, timeout_graceful_shutdown=3
    )
