"""``tunesmith remote --server URL ...``: the same work on a tunesmith server, through
``api.client`` (upload, submit a job with the CLI's config file, follow it, download outputs)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import click

from api.client import Client
from api.config import JOB_TYPES
from curate import ConfigError


def _client(ctx: click.Context) -> Client:
    return ctx.obj  # type: ignore[no-any-return]


def _read_config(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        return tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: cannot parse: {e}") from e


@click.group()
@click.option(
    "--server",
    envvar="TUNESMITH_SERVER",
    required=True,
    metavar="URL",
    help="The server's base URL (or $TUNESMITH_SERVER).",
)
@click.option(
    "--key", envvar="TUNESMITH_API_KEY", required=True, help="An API key (or $TUNESMITH_API_KEY)."
)
@click.pass_context
def remote(ctx: click.Context, server: str, key: str) -> None:
    """Work with a tunesmith server over its REST API."""
    ctx.obj = ctx.with_resource(Client(server, key))


@remote.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="A name for the dataset (default: the file's stem).")
@click.option("--format", "shape", help="Row shape to read (detected when omitted).")
@click.pass_context
def upload(ctx: click.Context, path: Path, name: str | None, shape: str | None) -> None:
    """Upload a dataset file; print the dataset as JSON."""
    info = _client(ctx).upload_dataset(path, name=name, format=shape)
    click.echo(info.model_dump_json(indent=2))


@remote.command()
@click.argument("job_type", type=click.Choice(JOB_TYPES))
@click.option("--dataset", help="The dataset id (curate, synthesize, train).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, path_type=Path),
    help="The same TOML/JSON config file the local command reads.",
)
@click.option(
    "--body",
    "body_path",
    type=click.Path(exists=True, path_type=Path),
    help="A JSON file with the whole job request (eval, gate, or anything).",
)
@click.option("--follow", is_flag=True, help="Follow the job's events until it ends.")
@click.pass_context
def submit(
    ctx: click.Context,
    job_type: str,
    dataset: str | None,
    config_path: Path | None,
    body_path: Path | None,
    follow: bool,
) -> int:
    """Submit a job; print its id (and, with --follow, its events; exit 1 unless it succeeds)."""
    body: dict[str, Any] = _read_config(body_path) if body_path else {}
    body["type"] = job_type
    if dataset:
        body["dataset_id"] = dataset
    if config_path:
        body["config"] = _read_config(config_path)
    job = _client(ctx).submit(body)
    click.echo(job.id)
    return _follow(ctx, job.id) if follow else 0


def _follow(ctx: click.Context, job_id: str) -> int:
    for event in _client(ctx).stream(job_id):
        click.echo(f"{event.seq:>4} {event.type:<10} {json.dumps(event.data)}", err=True)
    job = _client(ctx).get_job(job_id)
    verdict = f" verdict={job.verdict}" if job.verdict else ""
    click.echo(f"{job.id} {job.state}{verdict}{' ' + job.error if job.error else ''}")
    return 0 if job.state == "succeeded" else 1


@remote.command()
@click.argument("job_id")
@click.pass_context
def follow(ctx: click.Context, job_id: str) -> int:
    """Follow a job's events until it ends (exit 1 unless it succeeds)."""
    return _follow(ctx, job_id)


@remote.command()
@click.argument("job_id")
@click.pass_context
def status(ctx: click.Context, job_id: str) -> None:
    """Print a job as JSON."""
    click.echo(_client(ctx).get_job(job_id).model_dump_json(indent=2))


@remote.command()
@click.option("--state", help="Only jobs in this state.")
@click.option("--type", "job_type", type=click.Choice(JOB_TYPES), help="Only this type.")
@click.option("--limit", default=20, show_default=True)
@click.pass_context
def jobs(ctx: click.Context, state: str | None, job_type: str | None, limit: int) -> None:
    """List this key's jobs, newest first."""
    for job in _client(ctx).list_jobs(state=state, type=job_type, limit=limit).data:
        verdict = f" {job.verdict}" if job.verdict else ""
        click.echo(
            f"{job.id}  {job.type:<10} {job.state:<10}{verdict}  {job.created_at:%Y-%m-%d %H:%M}"
        )


@remote.command()
@click.argument("job_id")
@click.pass_context
def cancel(ctx: click.Context, job_id: str) -> None:
    """Cancel a job."""
    click.echo(_client(ctx).cancel(job_id).state)


@remote.command()
@click.argument("job_id")
@click.argument("name", required=False)
@click.option(
    "--out", type=click.Path(path_type=Path), help="Where to write (default: NAME's file name)."
)
@click.pass_context
def download(ctx: click.Context, job_id: str, name: str | None, out: Path | None) -> None:
    """Download a job's artifact; without NAME, list them."""
    if name is None:
        for artifact in _client(ctx).artifacts(job_id).data:
            click.echo(f"{artifact.size:>12,}  {artifact.name}")
        return
    click.echo(_client(ctx).download(job_id, name, out or Path(Path(name).name)))
