"""JSON request bodies: bounded nesting, strict types, and 400s that say what and where.

The routes that take a JSON model read the raw body and parse it here instead of letting the
framework decode it first: its decoder recurses without a bound (a body nested 5,000 deep was a
500), and lax validation took ``false`` for the number 0. Nesting deeper than ``MAX_DEPTH`` is
refused before parsing; then the model validates in pydantic's strict JSON mode (no booleans as
numbers, no numbers as strings).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeVar

import numpy as np
from litestar import Request
from litestar.exceptions import HTTPException
from pydantic import BaseModel, ValidationError

from curate import ConfigError, InputError

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted in a JSON body."""

M = TypeVar("M", bound=BaseModel)


class UnsupportedMediaType(HTTPException):
    """The body is not in a media type the route reads."""

    status_code = 415


_STEPS = np.zeros(256, dtype=np.int8)
_STEPS[[ord("["), ord("{")]] = 1
_STEPS[[ord("]"), ord("}")]] = -1


def json_depth(body: bytes) -> int:
    """The deepest nesting of ``[``/``{`` in a JSON text (brackets inside strings ignored).

    Vectorised (a few ms per MB), so it can run on the event loop before any parsing: a quote
    is escaped when an odd run of backslashes precedes it; a bracket counts when an even number
    of unescaped quotes precede it.
    """
    data = np.frombuffer(body, dtype=np.uint8)
    if not data.size:
        return 0
    index = np.arange(data.size)
    backslash = data == ord("\\")
    last_other = np.maximum.accumulate(np.where(backslash, -1, index))
    run = index - last_other  # backslashes ending at each position
    before = np.concatenate(([0], run[:-1]))
    quote = (data == ord('"')) & (before % 2 == 0)
    in_string = (np.cumsum(quote) % 2 == 1) | quote
    moves = _STEPS[data]
    moves = moves[(moves != 0) & ~in_string]
    return int(np.cumsum(moves, dtype=np.int64).max()) if moves.size else 0


def check_depth(body: bytes, where: str = "the JSON body") -> None:
    """Refuse a JSON text nested deeper than ``MAX_DEPTH``.

    Raises:
        InputError: it is nested too deep.
    """
    depth = json_depth(body)
    if depth > MAX_DEPTH:
        raise InputError(f"{where} is nested {depth} deep; the limit is {MAX_DEPTH}")


def errors_text(e: ValidationError, limit: int = 10) -> str:
    """A validation error as ``field.path: message; ...`` (never the rejected values)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}"
        for err in e.errors(include_input=False)[:limit]
    )


THREAD_ABOVE = 256 << 10
"""Bodies larger than this are depth-checked off the event loop (numpy releases the GIL)."""


async def read(request: Request, model: type[M]) -> M:
    """The request's JSON body validated as ``model`` (see ``parse``)."""
    if request.content_type[0] != "application/json":
        raise UnsupportedMediaType(detail="send the body as application/json")
    body = await request.body()  # the route's body size limit applies (413)
    if len(body) > THREAD_ABOVE:
        await asyncio.to_thread(check_depth, body)
    return parse(model, body)


RULE_ERRORS = frozenset({"value_error", "assertion_error"})
"""Pydantic error types raised by the models' own validators: rules between fields (a suite's
conversation ends with a user turn, a sweep varies only some fields) that no JSON Schema in the
OpenAPI document can state. A body failing only these is well-formed: 422, not 400."""

MAX_EXACT_INT = 1 << 53
"""Whole floats below this (``564.0``) are exact integers: JSON Schema's ``integer`` takes them."""


def parse(model: type[M], body: bytes) -> M:
    """Validate a JSON body as ``model``, strictly (no booleans as numbers, no numbers as
    strings); a whole number written as a float (``564.0``) counts as an integer, as JSON
    Schema has it.

    Raises:
        InputError: too deep, not JSON, or not a valid ``model`` (400); the message names each
            field.
        ConfigError: every field is well-formed but the body breaks a rule of the model's own
            validators (422).
    """
    if not body.strip():
        raise InputError("this route needs a JSON body")
    check_depth(body)
    try:
        try:
            return model.model_validate_json(body, strict=True)
        except ValidationError as e:
            if not any(_whole_float(err) for err in e.errors(include_url=False)):
                raise
            return model.model_validate_json(_floats_as_ints(body), strict=True)
    except ValidationError as e:
        if all(err["type"] in RULE_ERRORS for err in e.errors(include_url=False)):
            raise ConfigError(f"invalid request body: {errors_text(e)}") from None
        raise InputError(f"invalid request body: {errors_text(e)}") from None


def _whole_float(err: Any) -> bool:
    value = err.get("input")
    return (
        err["type"] == "int_type"
        and isinstance(value, float)
        and value.is_integer()
        and abs(value) < MAX_EXACT_INT
    )


def _floats_as_ints(body: bytes) -> bytes:
    """The body with every whole, exactly representable float literal written as an integer
    (the body is valid JSON, its depth checked: ``json`` parses it safely)."""

    def number(literal: str) -> int | float:
        value = float(literal)
        return int(value) if value.is_integer() and abs(value) < MAX_EXACT_INT else value

    return json.dumps(json.loads(body, parse_float=number)).encode()
