"""Text verifiers: an exact match after normalisation, and a regular expression."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict

from curate.errors import InputError
from curate.verify.verification import Verification, correct, failed


def _normalize(text: str, ignore_case: bool) -> str:
    """NFKC, whitespace runs collapsed to one space, trimmed; lower-cased when asked."""
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    return text.casefold() if ignore_case else text


class ExactVerifier(BaseModel):
    """The answer equals the reference text after normalisation: Unicode NFKC, whitespace runs
    collapsed and trimmed, and with ``ignore_case`` case folded. Punctuation counts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ignore_case: bool = False
    """Compare case-insensitively (Unicode case folding)."""

    def verify(self, answer: str, reference: Any) -> Verification:
        got, want = (
            _normalize(answer, self.ignore_case),
            _normalize(str(reference), self.ignore_case),
        )
        if not got:
            return failed("no_answer", "the answer is empty")
        if got == want:
            return correct()
        return failed("wrong_answer", f"got {got[:60]!r}, expected {want[:60]!r}")


class RegexVerifier(BaseModel):
    """The answer matches the reference, a regular expression (Python syntax, ``re.DOTALL``).

    By default the pattern may match anywhere (``re.search``); with ``full`` it must match the
    whole answer, surrounding whitespace stripped (``re.fullmatch``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    full: bool = False
    """The pattern must match the whole (stripped) answer, not just somewhere in it."""
    ignore_case: bool = False
    """Match case-insensitively."""

    def verify(self, answer: str, reference: Any) -> Verification:
        flags = re.DOTALL | (re.IGNORECASE if self.ignore_case else 0)
        try:
            pattern = re.compile(str(reference), flags)
        except re.error as e:
            raise InputError(f"the regex reference does not compile: {e}") from e
        found = pattern.fullmatch(answer.strip()) if self.full else pattern.search(answer)
        if found:
            return correct(found.group(0)[:80])
        return failed("wrong_answer", f"no match for /{pattern.pattern[:60]}/")
