"""``tunesmith keys create|list|revoke``: API keys for the REST service.

These open the store directly, so they need the server stopped (DuckDB lets one process hold
the file); a clear error says so when it is running.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
import duckdb

from api import auth
from api.migrations import open_store
from curate import ConflictError, Store


@contextmanager
def _store() -> Iterator[Store]:
    try:
        store = open_store()
    except duckdb.IOException as e:
        raise ConflictError(f"cannot open the store ({e}); stop `tunesmith serve` first") from e
    try:
        yield store
    finally:
        store.close()


@click.group()
def keys() -> None:
    """Manage API keys (stored hashed; a key is shown once, when created)."""


@keys.command("create")
@click.option("--name", required=True, help="A label for the key (who or what uses it).")
def create(name: str) -> None:
    """Create a key and print it (only this once)."""
    with _store() as store:
        key, secret = auth.create_key(store, name)
    click.echo(secret)
    click.echo(f"created key {key.id} ({key.name}); keep it: it is not stored", err=True)


@keys.command("list")
def list_() -> None:
    """List keys (ids and names, never secrets)."""
    with _store() as store:
        for key in auth.list_keys(store):
            state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            click.echo(f"{key.id}\t{key.name}\t{key.created_at:%Y-%m-%d %H:%M}\t{state}")


@keys.command("revoke")
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Revoke a key by its id."""
    with _store() as store:
        key = auth.revoke_key(store, key_id)
    click.echo(f"revoked {key.id} ({key.name})")
