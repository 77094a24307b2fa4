"""Next-token log-probabilities of a few options, for likelihood judges.

A likelihood judge does not parse a reply: it reads the model's probability of each option
("A" or "B", "Yes" or "No") as the first token of its answer. Every backend that exposes
log-probabilities has a ``choice_logprobs(chats, options, adapter)`` method:

- ``transformers`` computes them from the logits after the chat template's assistant header;
- ``vllm`` asks the engine for ``SamplingParams(max_tokens=1, logprobs=k)``;
- ``openai`` asks the server for ``logprobs=True, top_logprobs=k, max_tokens=1``.

An option's log-probability is the log of the summed probability of the tokens that spell it
(``A`` and `` A``). Where a server lists only its top k tokens and an option is not among them,
the option gets the lowest listed log-probability (an upper bound on its own): a judge then
still sees which option the model prefers, but never an infinite margin.

Answers are cached in the store's ``generations`` table beside generations, under a key that
holds the request and the options, so a rerun computes nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from curate.errors import InputError
from curate.models.generation import Generator
from curate.records import Message

TOP_K = 20
"""Top log-probabilities asked of servers (OpenAI's API allows at most 20)."""


class ChoiceLogprobs(BaseModel):
    """One chat's log-probabilities of each option as the answer's first token."""

    model_config = ConfigDict(frozen=True)

    logprobs: dict[str, float]
    """Option → natural-log probability."""
    cached: bool = False
    """True when it came from the store's generation cache."""


@runtime_checkable
class ChoiceScorer(Protocol):
    """A backend that can score the first token of the answer to each chat."""

    backend: str
    model: str

    def choice_logprobs(
        self, chats: list[list[Message]], options: Sequence[str], adapter: str | None = None
    ) -> list[dict[str, float]]:
        """Per chat, each option's log-probability as the first token of the answer."""
        ...


def supports_logprobs(generator: Generator) -> bool:
    """Whether ``generator`` (or the backend inside a cached one) exposes log-probabilities."""
    return isinstance(getattr(generator, "inner", generator), ChoiceScorer)


def choice_logprobs(
    generator: Generator,
    chats: list[list[Message]],
    options: Sequence[str],
    adapter: str | None = None,
) -> list[ChoiceLogprobs]:
    """Each option's log-probability as the first token of the answer to each chat.

    A ``CachedGenerator`` answers from its store first and stores what its backend computes.

    Raises:
        InputError: the backend exposes no log-probabilities (use the generative judge).
    """
    inner = getattr(generator, "inner", generator)
    if not isinstance(inner, ChoiceScorer):
        raise InputError(
            f"the {generator.backend} backend exposes no log-probabilities: "
            "use the generative judge (judge kind 'generative')"
        )
    store = getattr(generator, "store", None)
    if store is None:
        return [
            ChoiceLogprobs(logprobs=lp) for lp in inner.choice_logprobs(chats, options, adapter)
        ]
    requests = [_request_json(inner, adapter, chat, options) for chat in chats]
    keys = [hashlib.sha256(r.encode()).hexdigest() for r in requests]
    found = _lookup(store, sorted(set(keys)))
    todo: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key not in found:
            todo.setdefault(key, i)
    if todo:
        fresh = inner.choice_logprobs([chats[i] for i in todo.values()], options, adapter)
        _save(
            store,
            inner,
            adapter,
            [(k, requests[i], lp) for (k, i), lp in zip(todo.items(), fresh, strict=True)],
        )
        found.update({k: ChoiceLogprobs(logprobs=lp) for k, lp in zip(todo, fresh, strict=True)})
    return [found[k] for k in keys]


def combine(options: Sequence[str], listed: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Each option's log-probability from a server's (token text, logprob) list: the tokens that
    spell the option once stripped are summed; a missing option gets the lowest listed value."""
    pairs = list(listed)
    floor = min((lp for _, lp in pairs), default=-100.0)
    out: dict[str, float] = {}
    for option in options:
        hits = [lp for token, lp in pairs if token.strip() == option]
        out[option] = logsumexp(hits) if hits else floor
    return out


def logsumexp(values: Sequence[float]) -> float:
    """log(sum(exp(v))) without overflow."""
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _request_json(
    scorer: ChoiceScorer, adapter: str | None, chat: list[Message], options: Sequence[str]
) -> str:
    request = {
        "backend": scorer.backend,
        "model": scorer.model,
        "adapter": adapter,
        "messages": [m.model_dump() for m in chat],
        "choice_logprobs": list(options),
    }
    return json.dumps(request, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _lookup(store: Any, keys: list[str]) -> dict[str, ChoiceLogprobs]:
    if not keys:
        return {}
    rows = store.con.execute(
        "SELECT key, text FROM generations WHERE key IN (SELECT unnest(?::VARCHAR[]))", [keys]
    ).fetchall()
    return {key: ChoiceLogprobs(logprobs=json.loads(text), cached=True) for key, text in rows}


def _save(
    store: Any,
    scorer: ChoiceScorer,
    adapter: str | None,
    rows: list[tuple[str, str, dict[str, float]]],
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    with store.transaction() as con:
        con.executemany(
            "INSERT OR IGNORE INTO generations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [key, scorer.backend, scorer.model, adapter, request, json.dumps(lp), None, now]
                for key, request, lp in rows
            ],
        )
