"""JSON replies from a model: ask for a JSON object, validate it, re-ask a bad reply a few times.

Every judge (the contradiction judge, the eval pairwise judge and rubric grader) asks a
``Generator`` for one JSON object and validates it with a pydantic model. A reply that fails is
shown back to the model with the error and asked again, at most ``max_retries`` times; after
that it stays None: a judge that cannot follow the format never decides anything, and nothing is
guessed from a malformed reply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from curate.models.generation import Generator, SamplingParams
from curate.records import Message

M = TypeVar("M", bound=BaseModel)

_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n(.*?)\n?```$", re.DOTALL)


def parse_json(text: str, *, allow_fence: bool = True) -> tuple[Any, str | None]:
    """Parse the whole text as JSON; returns ``(value, None)`` or ``(None, error)``.

    With ``allow_fence`` one surrounding Markdown code fence is removed first, because chat
    models routinely wrap JSON in one and the fence is not part of the format asked for.
    """
    body = text.strip()
    if allow_fence:
        fenced = _FENCE.match(body)
        if fenced:
            body = fenced.group(1).strip()
    try:
        return json.loads(body), None
    except json.JSONDecodeError as e:
        return None, f"not JSON: {e.msg} at line {e.lineno} column {e.colno}"


def whole_reply(text: str, schema: type[M]) -> M:
    """The whole reply (one code fence allowed) as a ``schema`` object.

    Raises:
        ValueError: the reply is not JSON, or the JSON does not match the schema.
    """
    value, error = parse_json(text)
    if error is not None:
        raise ValueError(error)
    try:
        return schema.model_validate(value)
    except ValidationError as e:
        raise ValueError(f"the JSON does not match the schema: {e.errors()[0]['msg']}") from e


def first_object(text: str, schema: type[M]) -> M:
    """The first JSON object in the reply that is a valid ``schema`` object; prose around it is
    allowed (small models rarely reply with the object alone).

    Raises:
        ValueError: no JSON object in the reply matches the schema.
    """
    decoder = json.JSONDecoder()
    for start in (m.start() for m in re.finditer(r"\{", text)):
        try:
            value, _ = decoder.raw_decode(text, start)
            return schema.model_validate(value)
        except (ValueError, ValidationError):
            continue
    raise ValueError(f"no JSON verdict object in the reply: {text[:120]!r}")


Parse = Callable[[str, type[M]], M]
"""Turns a reply into a schema object, or raises ValueError saying why it is not one."""


def ask_json(
    generator: Generator,
    chats: Sequence[list[Message]],
    schema: type[M],
    *,
    max_tokens: int,
    max_retries: int,
    parse: Parse[M] = whole_reply,
) -> tuple[list[M | None], int]:
    """Ask each chat for a JSON reply valid against ``schema``; re-ask the invalid ones.

    The chats go as one batch per round (greedy decoding); only the replies that failed go
    round again, each with its own reply and the error appended.

    Args:
        generator: the model that replies.
        chats: one conversation per question.
        schema: the pydantic model a reply must validate as.
        max_tokens: tokens per reply.
        max_retries: re-asks of an invalid reply before it stays None.
        parse: how a reply becomes a schema object (``whole_reply`` or ``first_object``).

    Returns:
        The parsed replies in order (None where every try was invalid), and the number of
        re-asks spent.
    """
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens)
    convs = [list(c) for c in chats]
    results: list[M | None] = [None] * len(convs)
    todo = list(range(len(convs)))
    retries = 0
    for attempt in range(max_retries + 1):
        if not todo:
            break
        if attempt:
            retries += len(todo)
        replies = generator.generate([convs[i] for i in todo], params)
        still = []
        for i, reply in zip(todo, replies, strict=True):
            try:
                results[i] = parse(reply.text, schema)
                continue
            except ValueError as e:
                error = str(e)
            # Show the model its own reply and the error: a greedy model asked the same
            # question again would give the same invalid answer.
            convs[i] += [
                Message(role="assistant", content=reply.text),
                Message(
                    role="user",
                    content=f"Invalid reply ({error}). Reply with only the JSON object.",
                ),
            ]
            still.append(i)
        todo = still
    return results, retries
