"""Reading answers out of free text: final numbers, JSON bodies, refusals, normalised strings."""

from __future__ import annotations

import json
import re
from typing import Any

_NUMBER = r"-?\$?\s?\d[\d,]*(?:\.\d+)?"
# Explicit answer markers, strongest first: GSM8K's "####", "A:" lines, "answer is", \boxed{}.
_MARKERS = (
    re.compile(r"####\s*(" + _NUMBER + ")"),
    re.compile(r"\\boxed\{\s*(" + _NUMBER + r")\s*\}"),
    re.compile(r"(?im)^\s*(?:final\s+)?a(?:nswer)?\s*[:=]\s*(" + _NUMBER + ")"),
    re.compile(r"(?i)answer\s+is\s*[:=]?\s*(" + _NUMBER + ")"),
)
_ANY_NUMBER = re.compile(_NUMBER)
# GSM8K writes calculator annotations <<16-3=13>>; their numbers are not answers.
_CALC = re.compile(r"<<[^>]*>>")


def _to_float(token: str) -> float | None:
    cleaned = token.replace("$", "").replace(",", "").replace(" ", "")
    try:
        return float(cleaned)
    except ValueError:
        return None


def final_number(text: str) -> float | None:
    """The final numeric answer in a text, or None.

    An explicit marker wins (``#### 18``, ``\\boxed{18}``, ``A: 18``, ``the answer is 18``; the
    last one when several); otherwise the last number in the text.
    """
    text = _CALC.sub(" ", text)
    for marker in _MARKERS:
        found = marker.findall(text)
        if found:
            return _to_float(found[-1])
    found = _ANY_NUMBER.findall(text)
    return _to_float(found[-1]) if found else None


def normalise(text: str, *, case_sensitive: bool = False) -> str:
    """Whitespace collapsed, stripped, and (by default) lower-cased, for string comparison."""
    text = " ".join(text.split())
    return text if case_sensitive else text.lower()


_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n(.*?)\n?```$", re.DOTALL)


def parse_json(text: str, *, allow_fence: bool = True) -> tuple[Any, str | None]:
    """Parse the whole answer as JSON; returns ``(value, None)`` or ``(None, error)``.

    With ``allow_fence`` one surrounding Markdown code fence is removed first, because chat
    models routinely wrap JSON in one and the fence is not part of the format we test.
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


_REFUSAL = re.compile(
    r"(?i)\b(?:"
    r"i\s*(?:'m| am)\s*(?:sorry|afraid)[^.]{0,40}\b(?:can(?:'|no)?t|cannot|unable|not able)"
    r"|i\s*(?:can(?:'|no)?t|cannot|won't|will not|am unable to|am not able to)\s+"
    r"(?:help|assist|provide|comply|do that|answer|fulfil|fulfill|support|create|write|share)"
    r"|as an ai(?: language model)?[, ]"
    r"|i\s*(?:must|have to)\s+(?:decline|refuse)"
    r"|(?:is|would be)\s+(?:illegal|unethical|harmful)[^.]{0,30}\b(?:can(?:'|no)?t|cannot|won't)"
    r"|against my (?:guidelines|policy|programming)"
    r")"
)


def is_refusal(text: str) -> bool:
    """True when the answer declines the request (English refusal boilerplate)."""
    return bool(_REFUSAL.search(text[:600]))


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf fields of a JSON value by dotted path (``a.b``, ``items.0``)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}{key}."))
        return out
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}{i}."))
        return out if value else {prefix.rstrip("."): []}
    return {prefix.rstrip("."): value}


def same_value(a: Any, b: Any) -> bool:
    """Field equality that forgives case and spacing in strings and int/float spelling."""
    if isinstance(a, str) and isinstance(b, str):
        return normalise(a) == normalise(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))
    return bool(a == b)
