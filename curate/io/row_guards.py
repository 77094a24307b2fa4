"""Row guards: a row's JSON text decoded so that no row can take the reader down.

Each guard that fails rejects the row with a reason code: ``too_deep`` (nesting beyond
``MAX_DEPTH``, found by a bracket scan before ``json`` can recurse), ``number_too_long`` (a
number literal with more digits than ``MAX_NUMBER_DIGITS``), ``non_finite_number`` (NaN,
Infinity, 1e999) and ``invalid_unicode`` (lone surrogates).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from curate.io import limits
from curate.io.rows import SURROGATE

_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_DEPTH_TOKENS = re.compile(r'"[^"\\]*(?:\\[\s\S][^"\\]*)*"|[\[\]{}]')


class Reject(Exception):
    """A row guard failed: the row is rejected with ``reason``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _number(kind: type[int] | type[float]) -> Any:
    def parse(literal: str) -> int | float:
        if len(literal) > limits.MAX_NUMBER_DIGITS:
            raise Reject(
                "number_too_long",
                f"a number of {len(literal):,} characters; the limit is "
                f"{limits.MAX_NUMBER_DIGITS:,}",
            )
        value = kind(literal)
        if not math.isfinite(value):
            raise Reject("non_finite_number", f"{literal} overflows to {value}")
        return value

    return parse


def _constant(name: str) -> Any:
    raise Reject("non_finite_number", f"{name} is not a finite JSON number")


DECODER = json.JSONDecoder(
    parse_int=_number(int), parse_float=_number(float), parse_constant=_constant
)
"""``json``'s decoder with the number guards: its ``decode`` and ``raw_decode`` raise
``Reject``."""


def too_deep(text: str) -> bool:
    """Whether JSON text nests deeper than ``MAX_DEPTH``, by a scan of brackets outside strings
    (cheap when the text holds few brackets at all)."""
    if text.count("[") + text.count("{") <= limits.MAX_DEPTH:
        return False
    depth = 0
    for m in _DEPTH_TOKENS.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > limits.MAX_DEPTH:
                return True
        elif c in "]}":
            depth -= 1
    return False


def deep_reject() -> Reject:
    """The ``too_deep`` reject."""
    return Reject("too_deep", f"nesting deeper than {limits.MAX_DEPTH} levels")


def parse(text: str, depth_checked: bool = False) -> Any:
    """One row's JSON text decoded under the row guards.

    Raises:
        Reject: a guard failed.
        json.JSONDecodeError: the text is not JSON.
    """
    if not depth_checked and too_deep(text):
        raise deep_reject()
    try:
        value = DECODER.decode(text)
    except RecursionError as e:
        raise deep_reject() from e
    return checked(value, text)


def checked(value: Any, text: str) -> Any:
    """A decoded row once its text has no lone surrogate escape (``\\ud800``).

    Raises:
        Reject: the row holds a lone surrogate.
    """
    if _ESCAPED_SURROGATE.search(text):  # most rows have no \uD8xx escape: skip the walk
        found = guard_value(value)
        if found:
            raise Reject(*found)
    return value


def guard_value(value: Any) -> tuple[str, str] | None:
    """The first row guard a decoded row fails, as ``(reason, detail)``, or None: nesting beyond
    ``MAX_DEPTH``, a NaN or infinite float, a string or key with a lone surrogate."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        v, where, depth = stack.pop()
        if isinstance(v, str):
            if SURROGATE.search(v):
                return "invalid_unicode", f"a lone surrogate in {where or 'the row'}"
        elif isinstance(v, float):
            if not math.isfinite(v):
                return "non_finite_number", f"{v} in {where or 'the row'}"
        elif isinstance(v, dict | list | tuple):
            if depth >= limits.MAX_DEPTH:
                return "too_deep", f"nesting deeper than {limits.MAX_DEPTH} levels"
            items = v.items() if isinstance(v, dict) else enumerate(v)
            for k, x in items:
                if isinstance(k, str) and SURROGATE.search(k):
                    return "invalid_unicode", f"a lone surrogate in a key of {where or 'the row'}"
                at = f"{where}[{k}]" if not isinstance(k, str) else f"{where}.{k}" if where else k
                stack.append((x, at, depth + 1))
    return None


def json_error(e: json.JSONDecodeError) -> str:
    """A JSON syntax error in words, with its column."""
    # some messages end in "at" ("Unterminated string starting at"): no "at at column"
    return f"{e.msg} column {e.colno}" if e.msg.endswith(" at") else f"{e.msg} at column {e.colno}"
