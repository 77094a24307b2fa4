"""``/admin/keys``: API keys managed through the running server (``tunesmith keys`` uses it).

Authenticated by the server's admin secret (``api.admin``), not by an API key; not part of the
tenant-facing OpenAPI document.
"""

from __future__ import annotations

import hmac

from litestar import Controller, Request, get, post
from pydantic import BaseModel, ConfigDict, Field

from api import auth, bodies
from api.auth import ApiKey, BearerAuth
from api.controllers import db
from api.errors import Unauthorized


class NewKey(BaseModel):
    """A key to create."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    """A label for the key."""


class CreatedKey(BaseModel):
    """A created key and its secret (shown once, never stored)."""

    key: ApiKey
    """The key as listed."""
    secret: str
    """The full key string for ``Authorization: Bearer``."""


def _admin(request: Request) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = request.app.state.admin_secret
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), expected):
        raise Unauthorized("this route needs the server's admin secret (see server.json)")


class AdminController(Controller):
    """Key management for the operator."""

    path = "/admin/keys"
    include_in_schema = False

    @post("/", status_code=201)
    async def create(self, request: Request) -> CreatedKey:
        """Create a key."""
        _admin(request)
        data = await bodies.read(request, NewKey)
        key, secret = auth.create_key(db(request).main, data.name)
        return CreatedKey(key=key, secret=secret)

    @get("/")
    async def list_keys(self, request: Request) -> list[ApiKey]:
        """Every key, revoked ones included."""
        _admin(request)
        return auth.list_keys(db(request).main)

    @post("/{key_id:str}/revoke", status_code=200)
    async def revoke(self, request: Request, key_id: str) -> ApiKey:
        """Revoke a key; it stops working at once."""
        _admin(request)
        key = auth.revoke_key(db(request).main, key_id)
        BearerAuth._cache.clear()  # revocation shows now, not after the cache's seconds
        return key
