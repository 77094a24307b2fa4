"""Verifiable instructions in the style of IFEval (Zhou et al., 2023): constraints on the form
of an answer that a program checks — word and sentence counts, required and forbidden words,
letter case, bullet / numbered / JSON / section formats, opening and closing phrases.

Each rule is a function ``(answer, params) -> (passed, detail)``; the ``instruction`` check in
``evalsuite.checks`` names one rule and its parameters. The rules read the answer as a reader
would (a sentence ends at ``.``, ``!`` or ``?`` followed by space or the end; a bullet is a line
starting with ``-``, ``*`` or ``•``), not as a tokenizer would, so they are stable across models.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

Params = dict[str, Any]
Rule = Callable[[str, Params], tuple[bool, str]]

_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_BULLET = re.compile(r"^\s*[-*•]\s+\S", re.MULTILINE)
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+\S", re.MULTILINE)
_WORD = re.compile(r"\b[\w'-]+\b")


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _bounds(n: int, params: Params, what: str) -> tuple[bool, str]:
    lo, hi = params.get("min"), params.get("max")
    ok = (lo is None or n >= lo) and (hi is None or n <= hi)
    want = " and ".join(
        part
        for part in ((f">= {lo}" if lo is not None else ""), (f"<= {hi}" if hi is not None else ""))
        if part
    )
    return ok, f"{n} {what} (want {want})"


def word_count(answer: str, params: Params) -> tuple[bool, str]:
    """``min``/``max`` words."""
    return _bounds(len(_words(answer)), params, "words")


def sentence_count(answer: str, params: Params) -> tuple[bool, str]:
    """``min``/``max`` sentences (a trailing fragment without an end mark counts as one)."""
    text = answer.strip()
    n = len(_SENTENCE_END.findall(text))
    if text and not _SENTENCE_END.search(text[-3:] + " "):
        n += 1
    return _bounds(n, params, "sentences")


def include_words(answer: str, params: Params) -> tuple[bool, str]:
    """Every word of ``words`` appears (case-insensitive, whole words)."""
    missing = [w for w in params["words"] if not re.search(rf"\b{re.escape(w)}\b", answer, re.I)]
    return not missing, f"missing {missing}" if missing else "all present"


def exclude_words(answer: str, params: Params) -> tuple[bool, str]:
    """No word of ``words`` appears (case-insensitive, whole words)."""
    found = [w for w in params["words"] if re.search(rf"\b{re.escape(w)}\b", answer, re.I)]
    return not found, f"used {found}" if found else "none used"


def letter_case(answer: str, params: Params) -> tuple[bool, str]:
    """``case``: ``lower`` (no capital letter) or ``upper`` (no small letter)."""
    letters = [c for c in answer if c.isalpha()]
    if not letters:
        return False, "no letters"
    if params["case"] == "lower":
        bad = sum(c.isupper() for c in letters)
    else:
        bad = sum(c.islower() for c in letters)
    return bad == 0, f"{bad} letters in the wrong case"


def bullets(answer: str, params: Params) -> tuple[bool, str]:
    """Exactly ``n`` bullet lines (``-``, ``*`` or ``•``)."""
    n = len(_BULLET.findall(answer))
    return n == params["n"], f"{n} bullets (want {params['n']})"


def numbered(answer: str, params: Params) -> tuple[bool, str]:
    """Exactly ``n`` numbered items (``1.`` or ``1)`` at a line start)."""
    n = len(_NUMBERED.findall(answer))
    return n == params["n"], f"{n} numbered items (want {params['n']})"


def json_object(answer: str, params: Params) -> tuple[bool, str]:
    """The whole answer is a JSON object (a ```json fence around it is allowed), with the
    ``keys`` given, if any."""
    text = answer.strip()
    fence = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.S)
    if fence:
        text = fence.group(1)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        return False, f"not JSON ({e.msg})"
    if not isinstance(value, dict):
        return False, f"JSON {type(value).__name__}, not an object"
    missing = [k for k in params.get("keys", []) if k not in value]
    return not missing, f"missing keys {missing}" if missing else "a JSON object"


def sections(answer: str, params: Params) -> tuple[bool, str]:
    """Exactly ``n`` sections, each opening with ``marker`` and its number (``SECTION 1``)."""
    marker = params.get("marker", "SECTION")
    n = len(re.findall(rf"^\s*{re.escape(marker)}\s+\d+", answer, re.MULTILINE))
    return n == params["n"], f"{n} sections (want {params['n']})"


def paragraphs(answer: str, params: Params) -> tuple[bool, str]:
    """Exactly ``n`` paragraphs separated by blank lines."""
    n = len([p for p in re.split(r"\n\s*\n", answer.strip()) if p.strip()])
    return n == params["n"], f"{n} paragraphs (want {params['n']})"


def ends_with(answer: str, params: Params) -> tuple[bool, str]:
    """The answer ends with ``phrase`` exactly, nothing after it (trailing space aside)."""
    ok = answer.rstrip().endswith(params["phrase"])
    return ok, "ends with the phrase" if ok else f"ends with {answer.rstrip()[-40:]!r}"


def starts_with(answer: str, params: Params) -> tuple[bool, str]:
    """The answer starts with ``phrase`` exactly (leading space aside)."""
    ok = answer.lstrip().startswith(params["phrase"])
    return ok, "starts with the phrase" if ok else f"starts with {answer.lstrip()[:40]!r}"


def no_commas(answer: str, params: Params) -> tuple[bool, str]:
    """No comma anywhere."""
    n = answer.count(",")
    return n == 0, f"{n} commas"


def quoted(answer: str, params: Params) -> tuple[bool, str]:
    """The whole answer is wrapped in double quotes."""
    text = answer.strip()
    ok = len(text) >= 2 and text[0] == text[-1] == '"'
    return ok, "wrapped in quotes" if ok else "not wrapped in double quotes"


def title(answer: str, params: Params) -> tuple[bool, str]:
    """A title wrapped in double angle brackets, ``<<like this>>``."""
    ok = re.search(r"<<[^<>\n]+>>", answer) is not None
    return ok, "has a <<title>>" if ok else "no <<title>>"


RULES: dict[str, Rule] = {
    "word_count": word_count,
    "sentence_count": sentence_count,
    "include_words": include_words,
    "exclude_words": exclude_words,
    "letter_case": letter_case,
    "bullets": bullets,
    "numbered": numbered,
    "json_object": json_object,
    "sections": sections,
    "paragraphs": paragraphs,
    "ends_with": ends_with,
    "starts_with": starts_with,
    "no_commas": no_commas,
    "quoted": quoted,
    "title": title,
}
"""Every rule the ``instruction`` check can name."""

REQUIRED: dict[str, tuple[str, ...]] = {
    "include_words": ("words",),
    "exclude_words": ("words",),
    "letter_case": ("case",),
    "bullets": ("n",),
    "numbered": ("n",),
    "sections": ("n",),
    "paragraphs": ("n",),
    "ends_with": ("phrase",),
    "starts_with": ("phrase",),
}
"""The parameters each rule needs."""


def check_params(rule: str, params: Params) -> None:
    """Raise ``ValueError`` naming what is wrong with a rule's parameters."""
    if rule not in RULES:
        raise ValueError(f"unknown instruction rule {rule!r}; expected one of {sorted(RULES)}")
    missing = [p for p in REQUIRED.get(rule, ()) if p not in params]
    if missing:
        raise ValueError(f"instruction rule {rule!r} needs {missing}")
    if rule == "letter_case" and params["case"] not in ("lower", "upper"):
        raise ValueError("letter_case: case is 'lower' or 'upper'")
    if rule in ("word_count", "sentence_count") and not ({"min", "max"} & params.keys()):
        raise ValueError(f"instruction rule {rule!r} needs min or max")
