"""What a row converter produces (``Parts``), the error that rejects a row (``RowError``), and
the small guards every converter shares. Kept apart from ``shapes`` so readers of their own
(``oasst``) use them without importing the shape table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from curate.records import Message

_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")
"""C0 control characters other than the whitespace ones (tab, newline, vertical tab, form feed,
carriage return), which real text carries (a vertical tab from a PDF is a quality finding, not a
malformed row)."""


class RowError(Exception):
    """A row that cannot become a record; ``reason`` is its reject code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Parts:
    """What a converter makes of one row (one record)."""

    kind: str
    prompt: list[Message]
    completion: list[Message] | None = None
    chosen: list[Message] | None = None
    rejected: list[Message] | None = None
    label: bool | None = None
    tools: list[dict[str, Any]] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def clean(text: str, where: str) -> str:
    """``text`` itself, or a ``control_characters`` RowError naming ``where``."""
    bad = _CONTROL.search(text)
    if bad:
        raise RowError(
            "control_characters",
            f"{where}: control character U+{ord(bad.group()):04X} at character {bad.start()}",
        )
    return text


def type_name(value: Any) -> str:
    """A JSON-ish name of a value's type for messages (``null`` for None)."""
    return "null" if value is None else type(value).__name__


def check_prompt(prompt: list[Message]) -> list[Message]:
    """The prompt itself, or an ``empty_prompt`` RowError when no user message has text."""
    if not any(m.role == "user" and m.text.strip() for m in prompt):
        raise RowError("empty_prompt", "the prompt has no non-empty user message")
    return prompt
