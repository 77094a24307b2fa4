"""The generation cache: every answer stored in the store's ``generations`` table.

A cached generator wraps any backend. The key is the sha256 of (backend, model, adapter,
messages, sampling params — the seed among them), so a rerun or a resumed job asks the model only
for what it has not answered yet, and a changed parameter never returns a stale answer. A chat
that offers tools adds them to its key, with the text that writes tools into a system prompt
(``curate.models.tools.TOOLS_PROMPT``), so rewording that text never returns a stale answer.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from curate.models.generation import ChatTools, Generation, Generator, SamplingParams
from curate.models.tools import TOOLS_PROMPT
from curate.records import Message
from curate.store.store import Store


def generation_key(
    backend: str,
    model: str,
    adapter: str | None,
    messages: list[Message],
    params: SamplingParams,
    tools: list[dict[str, Any]] | None = None,
) -> str:
    """The cache key of one request: sha256 of its canonical JSON."""
    return hashlib.sha256(
        _request_json(backend, model, adapter, messages, params, tools).encode()
    ).hexdigest()


def _request_json(
    backend: str,
    model: str,
    adapter: str | None,
    messages: list[Message],
    params: SamplingParams,
    tools: list[dict[str, Any]] | None = None,
) -> str:
    request: dict[str, Any] = {
        "backend": backend,
        "model": model,
        "adapter": adapter,
        "messages": [m.model_dump() for m in messages],
        "params": params.model_dump(mode="json"),
    }
    if tools:  # only then, so the keys of chats without tools stay what they were
        request["tools"] = tools
        request["tools_prompt"] = TOOLS_PROMPT
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
        *,
        tools: ChatTools = None,
    ) -> list[Generation]:
        """Answer each chat, from the cache where possible; one Generation per chat, in order."""
        per_chat = tools or [None] * len(chats)
        requests = [
            _request_json(self.backend, self.model, adapter, chat, params, chat_tools)
            for chat, chat_tools in zip(chats, per_chat, strict=True)
        ]
        keys = [hashlib.sha256(r.encode()).hexdigest() for r in requests]
        found = self._lookup(sorted(set(keys)))
        missing = [i for i, key in enumerate(keys) if key not in found]
        # Identical requests in one call are generated once.
        todo: dict[str, int] = {}
        for i in missing:
            todo.setdefault(keys[i], i)
        if todo:
            asked = [chats[i] for i in todo.values()]
            if tools is None:  # an inner backend without the keyword still serves plain chats
                fresh = self.inner.generate(asked, params, adapter)
            else:
                fresh = self.inner.generate(
                    asked, params, adapter, tools=[per_chat[i] for i in todo.values()]
                )
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
        with self.store.session() as con:  # not store.con: it stays open while we generate
            rows = con.execute(
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
