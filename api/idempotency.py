"""``Idempotency-Key`` on POSTs: the same key and body replay the first response; the same key
with a different body is 422; a key whose first request is still being handled is 409.

Keys are per API key and stored in the store (``idempotency_keys``), so a replay survives a
restart. A request that fails with an error does not keep its key: the client may retry it. A
key expires ``ServerConfig.idempotency_ttl_s`` after its first request (24 h by default,
``tunesmith serve --idempotency-ttl``): after that the same key is a new request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from litestar import Request, Response
from pydantic import BaseModel

from api.errors import IdempotencyMismatch
from curate import ConflictError, InputError

HEADER = "idempotency-key"
MAX_KEY = 255
REPLAYED = "Idempotent-Replayed"


def fingerprint(*parts: str | bytes) -> str:
    """sha256 over the parts that make two requests the same."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


Produce = Callable[[], Awaitable[tuple[int, BaseModel, dict[str, str]]]]


async def idempotent(request: Request, body_sha256: str, produce: Produce) -> Response[bytes]:
    """Run ``produce`` once per (API key, Idempotency-Key); replay its response afterwards.

    ``produce`` returns the status, the body model and extra headers of a success.
    """
    key = request.headers.get(HEADER)
    if key is not None and not (0 < len(key) <= MAX_KEY and key.isprintable()):
        raise InputError(f"Idempotency-Key must be 1 to {MAX_KEY} printable characters")
    owner = request.user.id
    route = f"{request.method} {request.url.path}"
    store = request.app.state.db.main
    now = datetime.now(UTC).replace(tzinfo=None)
    if key is not None:
        ttl = timedelta(seconds=request.app.state.config.idempotency_ttl_s)
        store.con.execute(  # an expired key is forgotten: this request is a new one
            "DELETE FROM idempotency_keys WHERE owner = ? AND key = ? AND created_at < ?",
            [owner, key, now - ttl],
        )
        row = store.con.execute(
            "SELECT route, body_sha256, status_code, headers, body FROM idempotency_keys "
            "WHERE owner = ? AND key = ?",
            [owner, key],
        ).fetchone()
        if row is not None:
            if row[0] != route or row[1] != body_sha256:
                raise IdempotencyMismatch(
                    "this Idempotency-Key was used with a different request; use a new key"
                )
            if row[2] is None:
                raise ConflictError(
                    "the first request with this Idempotency-Key is still being "
                    "processed; retry later"
                )
            headers = json.loads(row[3]) | {REPLAYED: "true"}
            return Response(
                content=bytes(row[4]),
                status_code=row[2],
                headers=headers,
                media_type="application/json",
            )
        store.con.execute(
            "INSERT INTO idempotency_keys VALUES (?, ?, ?, ?, NULL, NULL, NULL, ?)",
            [owner, key, route, body_sha256, now],
        )
    try:
        status, model, headers = await produce()
    except BaseException:
        if key is not None:
            store.con.execute(
                "DELETE FROM idempotency_keys WHERE owner = ? AND key = ?", [owner, key]
            )
        raise
    body = model.model_dump_json().encode()
    if key is not None:
        store.con.execute(
            "UPDATE idempotency_keys SET status_code = ?, headers = ?, body = ? "
            "WHERE owner = ? AND key = ?",
            [status, json.dumps(headers), body, owner, key],
        )
    return Response(
        content=body, status_code=status, headers=headers, media_type="application/json"
    )
