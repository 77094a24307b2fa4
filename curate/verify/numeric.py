"""The numeric verifier: the answer's final number equals the reference number."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from curate.errors import InputError
from curate.text.answers import final_number
from curate.verify.verification import Verification, correct, failed


class NumericVerifier(BaseModel):
    """The answer's final number (``curate.text.answers.final_number``: a marked answer such as
    ``#### 18`` or ``the answer is 18``, else the last number) is close to the reference.

    The reference is a number, or a text whose final number is taken the same way (a GSM8K
    solution ending in ``#### 18``). Close means ``math.isclose`` with both tolerances.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rel_tol: float = Field(1e-6, ge=0.0)
    """Relative tolerance, a share of the larger magnitude."""
    abs_tol: float = Field(1e-6, ge=0.0)
    """Absolute tolerance, for references at or near zero."""

    def verify(self, answer: str, reference: Any) -> Verification:
        want = _reference_number(reference)
        got = final_number(answer)
        if got is None:
            return failed("no_answer", "no number in the answer")
        if math.isclose(got, want, rel_tol=self.rel_tol, abs_tol=self.abs_tol):
            return correct(f"{got:g}")
        return failed("wrong_answer", f"got {got:g}, expected {want:g}")


def _reference_number(reference: Any) -> float:
    if isinstance(reference, bool):
        raise InputError(f"a numeric reference must be a number, not {reference!r}")
    if isinstance(reference, int | float):
        return float(reference)
    number = final_number(str(reference))
    if number is None:
        raise InputError(f"the numeric reference holds no number: {str(reference)[:80]!r}")
    return number
