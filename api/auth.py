"""API keys: ``Authorization: Bearer <key>``, stored as a sha256 of the secret, never in clear.

A key reads ``tsk_<id>_<secret>``: the id finds the row, the secret is compared by hash. Keys
are random 256-bit secrets, so a plain sha256 is enough (no password stretching needed). Every
dataset and job belongs to the key that created it; other keys see 404 for it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime
from typing import ClassVar

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from pydantic import BaseModel, ConfigDict

from api.errors import Unauthorized
from curate import InputError, NotFoundError, Store

PREFIX = "tsk"
CACHE_S = 5.0
"""How long a verified key is trusted without a store read (revocation shows within this)."""


class ApiKey(BaseModel):
    """An API key as listed (never with its secret)."""

    model_config = ConfigDict(frozen=True)

    id: str
    """The key's public id (part of the key; owner of its datasets and jobs)."""
    name: str
    """A label given at creation."""
    created_at: datetime
    """When it was created (UTC)."""
    revoked_at: datetime | None = None
    """When it was revoked, if it was."""


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def create_key(store: Store, name: str) -> tuple[ApiKey, str]:
    """Create a key; returns it and the full secret key string (shown once, never stored)."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(id=key_id, name=name, created_at=_now())
    store.con.execute(
        "INSERT INTO api_keys VALUES (?, ?, ?, ?, NULL)",
        [key.id, key.name, _sha(secret), key.created_at],
    )
    return key, f"{PREFIX}_{key_id}_{secret}"


def list_keys(store: Store) -> list[ApiKey]:
    """Every key, oldest first, revoked ones included."""
    rows = store.con.execute(
        "SELECT id, name, created_at, revoked_at FROM api_keys ORDER BY created_at, id"
    ).fetchall()
    return [ApiKey(id=r[0], name=r[1], created_at=r[2], revoked_at=r[3]) for r in rows]


def revoke_key(store: Store, key_id: str) -> ApiKey:
    """Revoke a key by id (idempotent); raises ``NotFoundError`` for an unknown id."""
    store.con.execute(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?", [_now(), key_id]
    )
    for key in list_keys(store):
        if key.id == key_id:
            return key
    raise NotFoundError(f"no API key with id {key_id!r}")


def parse_key(token: str) -> tuple[str, str]:
    """Split ``tsk_<id>_<secret>``; raises ``InputError`` for anything else."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        raise InputError("malformed API key")
    return parts[1], parts[2]


def verify_key(store: Store, token: str) -> ApiKey:
    """The live key a bearer token names; raises ``Unauthorized`` otherwise."""
    try:
        key_id, secret = parse_key(token)
    except InputError:
        raise Unauthorized("malformed API key") from None
    row = store.con.execute(
        "SELECT id, name, created_at, revoked_at, secret_sha256 FROM api_keys WHERE id = ?",
        [key_id],
    ).fetchone()
    if row is None or not hmac.compare_digest(row[4], _sha(secret)):
        raise Unauthorized("unknown API key")
    if row[3] is not None:
        raise Unauthorized("this API key was revoked")
    return ApiKey(id=row[0], name=row[1], created_at=row[2], revoked_at=row[3])


class BearerAuth(AbstractAuthenticationMiddleware):
    """Resolves ``Authorization: Bearer`` to an ``ApiKey`` on ``request.user``."""

    _cache: ClassVar[dict[str, tuple[ApiKey, float]]] = {}

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("this route needs an API key: 'Authorization: Bearer <key>'")
        token = token.strip()
        hit = self._cache.get(token)
        if hit is not None and hit[1] > time.monotonic():
            return AuthenticationResult(user=hit[0], auth=token)
        key = verify_key(connection.app.state.db.store(), token)
        if len(self._cache) > 10_000:  # bounded: a flood of distinct valid keys cannot grow it
            self._cache.clear()
        self._cache[token] = (key, time.monotonic() + CACHE_S)
        return AuthenticationResult(user=key, auth=token)
