"""The verifier contract: one method, and the result it returns."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict


class Verification(BaseModel):
    """Whether an answer passed its verifier, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    passed: bool
    """The answer is right."""
    reason: str
    """A short code: ``correct``, ``wrong_answer``, ``no_answer``, ``invalid_json``,
    ``schema_violation``, ``tests_failed``, ``timeout``, ``memory_limit`` or ``error``; for tool
    calls also ``no_call``, ``wrong_count``, ``wrong_function``, ``positional_argument``,
    ``missing_argument``, ``unexpected_argument`` and ``wrong_value``."""
    detail: str = ""
    """What the verifier saw, for a person: the number found, the failing assert, the
    exception's last line."""


def correct(detail: str = "") -> Verification:
    """A passing verification."""
    return Verification(passed=True, reason="correct", detail=detail)


def failed(reason: str, detail: str = "") -> Verification:
    """A failing verification with its reason code."""
    return Verification(passed=False, reason=reason, detail=detail)


class Verifier(Protocol):
    """Decides, by a program, whether an answer is right against a reference."""

    def verify(self, answer: str, reference: Any) -> Verification:
        """Check ``answer`` against ``reference`` (a number, a pattern, a schema, test code…).

        Raises:
            InputError: the reference itself is unusable (no number, a bad pattern or schema):
                a bad record, not a wrong answer.
        """
        ...
