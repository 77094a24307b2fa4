"""Grading answers as text: normalised strings, refusals, and field-wise JSON comparison.

Final numbers (``curate.final_number``) and JSON bodies (``curate.parse_json``) are read by
curate's one definition; what is here is how the eval checks compare what was read.
"""

from __future__ import annotations

import re
from typing import Any


def normalise(text: str, *, case_sensitive: bool = False) -> str:
    """Whitespace collapsed, stripped, and (by default) lower-cased, for string comparison."""
    text = " ".join(text.split())
    return text if case_sensitive else text.lower()


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
