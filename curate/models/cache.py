"""The generation cache: every answer stored in the store's ``generations`` table.

A cached generator wraps any backend. The key is the sha256 of (backend, model, adapter,
messages, sampling params — the seed among them), so a rerun or a resumed job asks the model only
for what it has not answered yet, and a changed parameter never returns a stale answer.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from curate.models.generation import Generation, Generator, SamplingParams
from curate.records import Message
from curate.store.store import Store


def generation_key(
    backend: str,
    model: str,
    adapter: str | None,
    messages: list[Message],
    params: SamplingParams,
) -> str:
    """The cache key of one request: sha256 of its canonical JSON."""
    return hashlib.sha256(
        _request_json(backend, model, adapter, messages, params).encode()
    ).hexdigest()


def _request_json(
    backend: str,
    model: str,
    adapter: str | None,
    messages: list[Message],
    params: SamplingParams,
) -> str:
    request = {
        "backend": backend,
        "model": model,
        "adapter": adapter,
        "messages": [m.model_dump() for m in messages],
        "params": params.model_dump(mode="json"),
    }
    return json.dumps(request, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class CachedGenerator:
    """A generator that answers from the store first and stores what the backend generates.

    Answers are written after each backend call, so an interrupted job keeps what it finished.
    """

    def __init__(self, inner: Generator, store: Store) -> None:
        self.inner = inner
        self.store = store
        self.backend = inner.backend
        self.model = inner.model
        self.hits = 0
        """Answers served from the cache since this wrapper was made."""
        self.misses = 0
        """Answers the backend generated since this wrapper was made."""

    def generate(
        self,
        chats: list[list[Message]],
        params: SamplingParams,
        adapter: str | None = None,
    ) -> list[Generation]:
        """Answer each chat, from the cache where possible; one Generation per chat, in order."""
        requests = [
            _request_json(self.backend, self.model, adapter, chat, params) for chat in chats
        ]
        keys = [hashlib.sha256(r.encode()).hexdigest() for r in requests]
        found = self._lookup(sorted(set(keys)))
        missing = [i for i, key in enumerate(keys) if key not in found]
        # Identical requests in one call are generated once.
        todo: dict[str, int] = {}
        for i in missing:
            todo.setdefault(keys[i], i)
        if todo:
            fresh = self.inner.generate([chats[i] for i in todo.values()], params, adapter)
            self._save(
                [(k, requests[i], g) for (k, i), g in zip(todo.items(), fresh, strict=True)],
                adapter,
            )
            found.update({k: g for k, g in zip(todo, fresh, strict=True)})
        self.misses += len(todo)
        self.hits += len(chats) - len(todo)
        return [found[key] for key in keys]

    def _lookup(self, keys: list[str]) -> dict[str, Generation]:
        if not keys:
            return {}
        rows = self.store.con.execute(
            "SELECT key, text, finish_reason FROM generations WHERE key IN "
            "(SELECT unnest(?::VARCHAR[]))",
            [keys],
        ).fetchall()
        return {
            key: Generation(text=text, finish_reason=reason, cached=True)
            for key, text, reason in rows
        }

    def _save(self, rows: list[tuple[str, str, Generation]], adapter: str | None) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.store.transaction() as con:
            con.executemany(
                "INSERT OR IGNORE INTO generations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [key, self.backend, self.model, adapter, request, g.text, g.finish_reason, now]
                    for key, request, g in rows
                ],
            )
