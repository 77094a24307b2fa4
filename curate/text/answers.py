"""Final answers in free text: the number an answer ends on, and where it stands.

One definition of what marks an answer (``#### 18``, ``\\boxed{18}``, an ``A: 18`` line, ``the
answer is 18``) and of how a number is written, for every caller: the eval checks grade an
answer's final number against a reference (``final_number``), the contradiction check compares
two training answers (``stated_number``), and recipes cut a solution's answer line off its
reasoning (``marked_number``).

The two policies differ only when no marker is present, on purpose. A grader may guess the last
number: a wrong guess fails a check that was going to be scored anyway. Comparing two answers
must not guess: a wrong guess calls two agreeing answers a contradiction, so an unmarked number
counts only when it is the only one of a short answer, or ends the last line of a worked
solution to a quantity question.
"""

from __future__ import annotations

import re
from typing import NamedTuple

NUMBER = r"-?(?:\$\s?)?\d[\d,]*(?:\.\d+)?%?"
"""A written number: optional sign and dollar sign, thousands commas, decimals, a percent sign."""

_NOT_AN_OPERAND = r"(?!\d|[.,]\d)(?![ \t]*[-+*/×÷=][ \t]*\$?\d)"
"""After a phrase's number: the whole number (no backtracking into ``10`` to take ``1``), and not
the first operand of a sum still to be worked out ("the result is: 10 / 5 = 2" states 2, not 10)."""

_MARKERS = (
    ("hashes", re.compile(r"####\s*(" + NUMBER + ")")),
    ("boxed", re.compile(r"\\boxed\{\s*(" + NUMBER + r")\s*\}")),
    ("answer_line", re.compile(r"(?im)^\s*(?:final\s+)?a(?:nswer)?[ \t]*:\s*(" + NUMBER + ")")),
    (
        "answer_phrase",
        re.compile(
            r"(?i)\b(?:answer|result|total)[ \t]+(?:is|will be|would be):?\s*"
            r"(?:approximately\s+|about\s+)?(" + NUMBER + ")" + _NOT_AN_OPERAND
        ),
    ),
)
"""Explicit answer markers, strongest first: GSM8K's ``####``, ``\\boxed{}``, an ``A:`` or
``Answer:`` line, a phrase such as "the answer is" or "the total is". The strongest kind present
wins, and its last occurrence: a solution may say "the total is 9" on its way to "#### 18"."""

_ANY_NUMBER = re.compile(NUMBER)
_CALC = re.compile(r"<<[^>]*>>")
"""GSM8K's calculator annotations (``<<16-3=13>>``): their numbers are working, not answers."""


class FinalNumber(NamedTuple):
    """A final numeric answer and the text that states it."""

    span: str
    """The stating text: the marker with its number, the number alone, or the last line."""
    value: float
    """The number."""
    start: int
    """Where ``span`` starts in the text."""
    end: int
    """Where ``span`` ends in the text."""
    marker: str | None
    """The marker's kind (``hashes``, ``boxed``, ``answer_line``, ``answer_phrase``); None for
    an unmarked number."""


def strip_calculations(text: str) -> str:
    """The text without GSM8K's calculator annotations (``<<16-3=13>>13`` becomes ``13``)."""
    return _CALC.sub("", text)


def to_number(token: str) -> float | None:
    """A written number (``$1,250.50``, ``40%``) as a float; None when it is not one."""
    cleaned = token.replace("$", "").replace(",", "").replace(" ", "").rstrip("%")
    try:
        return float(cleaned)
    except ValueError:
        return None


def _blank_calculations(text: str) -> str:
    # Spaces of the same length keep every position, so spans are cut from the original text.
    return _CALC.sub(lambda m: " " * len(m.group(0)), text)


def marked_number(text: str) -> FinalNumber | None:
    """The number after the strongest answer marker in a text (its last occurrence), or None."""
    blanked = _blank_calculations(text)
    for kind, marker in _MARKERS:
        found = list(marker.finditer(blanked))
        if found:
            m = found[-1]
            value = to_number(m.group(1))
            if value is None:
                return None
            start = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
            return FinalNumber(text[start : m.end()].strip(), value, start, m.end(), kind)
    return None


def final_number(text: str) -> float | None:
    """The final numeric answer of a text, for grading it: the marked number, else the last one.

    An explicit marker wins (``#### 18``, ``\\boxed{18}``, ``A: 18``, ``the answer is 18``);
    otherwise the last number in the text, calculator annotations left out.
    """
    marked = marked_number(text)
    if marked is not None:
        return marked.value
    found = _ANY_NUMBER.findall(_blank_calculations(text))
    return to_number(found[-1]) if found else None


def stated_number(text: str, *, quantity: bool = False, short_words: int = 8) -> FinalNumber | None:
    """The final numeric answer of a text when it states one, for comparing two answers.

    The marked number (``A: 18``, ``#### 18``, ``the answer is 18``); else the only number of a
    short answer; else, when the question asks for a quantity (``quantity``: "how many",
    "calculate"), the last number of the answer's last line, where worked solutions conclude.
    None otherwise: a long answer with several unmarked numbers states no final one.

    Args:
        text: the answer.
        quantity: the question asks for a quantity.
        short_words: answers of at most this many words are short.
    """
    marked = marked_number(text)
    if marked is not None:
        return marked
    blanked = _blank_calculations(text)
    if len(blanked.split()) <= short_words:
        found = list(_ANY_NUMBER.finditer(blanked))
        value = to_number(found[0].group(0)) if found else None
        if len({m.group(0) for m in found}) == 1 and value is not None:
            return FinalNumber(found[0].group(0), value, found[0].start(), found[0].end(), None)
    if quantity:
        start, end = _last_line(blanked)
        tokens = _ANY_NUMBER.findall(blanked[start:end])
        if tokens and (value := to_number(tokens[-1])) is not None:
            return FinalNumber(text[start:end].strip()[-80:], value, start, end, None)
    return None


def _last_line(text: str) -> tuple[int, int]:
    """Where the last non-blank line of a text starts and ends (0, 0 for a blank text)."""
    start = 0
    last = (0, 0)
    for line in text.splitlines(keepends=True):
        if line.strip():
            last = (start, start + len(line.rstrip("\r\n")))
        start += len(line)
    return last
