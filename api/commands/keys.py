"""``tunesmith keys create|list|revoke``: API keys for the REST service.

With no server running these open the store directly. While ``tunesmith serve`` holds the store
(DuckDB lets one process open it), they go through the server instead: ``/admin/keys``,
authenticated by the admin secret the server wrote to ``<home>/server.json`` (``api.admin``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import click
import duckdb
import httpx

from api import admin, auth
from api.auth import ApiKey
from api.migrations import open_store
from curate import ConflictError, Store, home


@contextmanager
def _store() -> Iterator[Store]:
    try:
        store = open_store()
    except duckdb.IOException as e:
        raise ConflictError(
            f"cannot open the store ({e}); another process holds it and no running "
            "server of this store was found (server.json)"
        ) from e
    try:
        yield store
    finally:
        store.close()


def _server_call(method: str, path: str, body: dict[str, Any] | None = None) -> Any | None:
    """Call the running server's admin API, or None when no server holds this store."""
    server = admin.running(home())
    if server is None:
        return None
    from api.client import raise_for_problem

    try:
        r = httpx.request(
            method,
            f"{server.url}/admin/keys{path}",
            json=body,
            headers={"Authorization": f"Bearer {server.secret}"},
            timeout=30,
        )
    except httpx.HTTPError as e:
        raise ConflictError(
            f"the server at {server.url} (pid {server.pid}) holds the store but does not "
            f"answer ({type(e).__name__})"
        ) from e
    raise_for_problem(r)
    return r.json()


@click.group()
def keys() -> None:
    """Manage API keys (stored hashed; a key is shown once, when created). Works with the
    server running (through it) or stopped (on the store)."""


@keys.command("create")
@click.option("--name", required=True, help="A label for the key (who or what uses it).")
def create(name: str) -> None:
    """Create a key and print it (only this once)."""
    answer = _server_call("POST", "/", {"name": name})
    if answer is not None:
        key, secret = ApiKey(**answer["key"]), answer["secret"]
    else:
        with _store() as store:
            key, secret = auth.create_key(store, name)
    click.echo(secret)
    click.echo(f"created key {key.id} ({key.name}); keep it: it is not stored", err=True)


@keys.command("list")
def list_() -> None:
    """List keys (ids and names, never secrets)."""
    answer = _server_call("GET", "/")
    if answer is not None:
        found = [ApiKey(**k) for k in answer]
    else:
        with _store() as store:
            found = auth.list_keys(store)
    for key in found:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        click.echo(f"{key.id}\t{key.name}\t{key.created_at:%Y-%m-%d %H:%M}\t{state}")


@keys.command("revoke")
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Revoke a key by its id."""
    answer = _server_call("POST", f"/{quote(key_id, safe='')}/revoke")
    if answer is not None:
        key = ApiKey(**answer)
    else:
        with _store() as store:
            key = auth.revoke_key(store, key_id)
    click.echo(f"revoked {key.id} ({key.name})")
