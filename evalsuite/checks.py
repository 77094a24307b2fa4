"""Checks: what a case's answer must satisfy. Each check is a *format* or a *substance* check.

A check is a small frozen pydantic model chosen by its ``type`` in a suite file; ``score`` turns
one answer into a ``CheckResult``. Format checks ask whether the template was followed (valid
JSON, a regex, length bounds); substance checks ask whether the content is right (the number,
the fields, the facts). A model that only learned the template passes the first and not the
second, and the reports keep them apart.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from curate import InputError, NumericVerifier, final_number, get_verifier, parse_json
from evalsuite import answers
from evalsuite.health import no_answer

Kind = Literal["format", "substance"]
# A single string in a suite file is accepted where a list of strings is expected.
Strings = Annotated[list[str], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]


class CheckResult(BaseModel):
    """One check's verdict on one answer."""

    model_config = ConfigDict(frozen=True)

    name: str
    """The check's name within its case (defaults to its type)."""
    type: str
    """The check's type."""
    kind: Kind
    """format or substance."""
    passed: bool | None
    """The verdict; None when the check could not run (``detail`` says why)."""
    score: float | None = None
    """A graded score in 0..1 where the check has one (ROUGE-L, field accuracy, judge)."""
    detail: str = ""
    """Why it passed or failed, short."""


class RubricJudge(Protocol):
    """Grades one answer against a rubric (see ``evalsuite.judge.LLMRubricJudge``)."""

    def grade(
        self, rubric: str, prompt: str, answer: str, reference: str | None
    ) -> tuple[int, str] | None:
        """A score from 1 to 5 and the judge's reason; None when it gave no valid verdict."""
        ...


class CheckContext(BaseModel):
    """What a check may need beyond the answer: the case's reference, its prompt, a judge."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    reference: Any = None
    """The case's reference (a string, a number, or a JSON object)."""
    prompt: str = ""
    """The case's last user message."""
    judge: Any = None
    """A ``RubricJudge`` for ``judge`` checks, or None."""
    tools: list[dict[str, Any]] | None = None
    """The function definitions the case offered the model (for ``tool_call`` checks)."""


class _Check(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = None
    """The check's name in reports; defaults to its type."""

    def result(
        self, passed: bool | None, detail: str = "", score: float | None = None
    ) -> CheckResult:
        kind: Kind = self.kind  # type: ignore[attr-defined]
        type_: str = self.type  # type: ignore[attr-defined]
        return CheckResult(
            name=self.name or type_,
            type=type_,
            kind=kind,
            passed=passed,
            score=score,
            detail=detail,
        )


def _expected(value: Any, ctx: CheckContext, what: str) -> Any:
    if value is not None:
        return value
    if ctx.reference is None:
        raise ValueError(f"a {what} check needs a value or the case's reference")
    return ctx.reference


class Exact(_Check):
    """The answer equals the expected text (normalised unless case_sensitive)."""

    type: Literal["exact"] = "exact"
    kind: Kind = "substance"
    """format or substance."""
    value: str | None = None
    """The expected text; defaults to the case's reference."""
    case_sensitive: bool = False
    """Compare case as well (whitespace is always collapsed)."""

    def score(self, output: str, ctx: CheckContext) -> CheckResult:
        want = str(_expected(self.value, ctx, "exact"))
        ok = answers.normalise(output, case_sensitive=self.case_sensitive) == answers.normalise(
            want, case_sensitive=self.case_sensitive
        )
        return self.result(ok, "" if ok else f"expected {want[:60]!r}")


class Contains(_Check):
    """The answer contains every (or, with ``any``, one) of the given strings."""

    type: Literal["contains"] = "contains"
    kind: Kind = "substance"
    """format or substance."""
    value: Strings = Field(min_length=1)
    """The strings to look for."""
    any: bool = False
    """One of them suffices (default: all are needed)."""
    case_sensitive: bool = False
    """Match case as well."""

    def score(self, output: str, ctx: CheckContext) -> CheckResult:
        hay = output if self.case_sensitive else output.lower()
        found = [v for v in self.value if (v if self.case_sensitive else v.lower()) in hay]
        ok = bool(found) if self.any else len(found) == len(self.value)
        missing = [v for v in self.value if v not in found]
        return self.result(ok, "" if ok else f"missing {missing[:3]}")


class NotContains(_Check):
    """The answer contains none of the given strings."""

    type: Literal["not_contains"] = "not_contains"
    kind: Kind = "substance"
    """format or substance."""
    value: Strings = Field(min_length=1)
    """The forbidden strings."""
    case_sensitive: bool = False
    """Match case as well."""

    def score(self, output: str, ctx: CheckContext) -> CheckResult:
        hay = output if self.case_sensitive else output.lower()
        found = [v for v in self.value if (v if self.case_sensitive else v.lower()) in hay]
        return self.result(not found, f"found {found[:3]}" if found else "")


class Regex(_Check):
    """The answer matches a regular expression (``re.search``; ``full`` for the whole text)."""

    type: Literal["regex"] = "regex"
    kind: Kind = "format"
    """format or substance."""
    pattern: str
    """The regular expression (Python syntax)."""
    full: bool = False
    """The whole (stripped) answer must match."""
    ignore_case: bool = False
    """Case-insensitive matching."""

    def score(self, output: str, ctx: CheckContext) -> CheckResult:
        flags = re.IGNORECASE | re.DOTALL if self.ignore_case else re.DOTALL
        rx = re.compile(self.pattern, flags)
        ok = bool(rx.fullmatch(output.strip()) if self.full else rx.search(output))
        return self.result(ok, "" if ok else f"no match for /{self.pattern[:40]}/")


class JsonValid(_Check):
    """The whole answer is JSON (one surrounding code fence allowed)."""

    type: Literal["json_valid"] = "json_valid"
    kind: Kind = "format"
    """format or substance."""
    allow_fence: bool = True
    """Accept one surrounding Markdown code fence."""

    def score(self, output: str, ctx: CheckContext) -> CheckResult:
        _, error = parse_json(output, allow_fence=self.allow_fence)
        return self.result(error is None, error or "")


class JsonSchema(_Check):
    """The answer is JSON that validates against a JSON Schema."""

    type: Literal["json_schema"] = "json_schema"
    kind: Kind = "format"
    """format or substance."""
    json_schema: dict[str, Any] = Field(alias="schema")
    """The JSON Schema (draft 2020-12 unless it says otherwise)."""
    allow_fence: bool = True
    """Accept one surrounding Markdown code fence."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def score(self, output: str, ctx: CheckContext) -> CheckResult:
        import jsonschema

        value, error = parse_json(output, allow_fence=self.allow_fence)
        if error is not None:
            return self.result(False, error)
        validator = jsonschema.validators.validator_for(self.json_schema)(self.json_schema)
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            where = "/".join(str(p) for p in errors[0].path) or "(root)"
            return self.result(False, f"{where}: {errors[0].message[:80]}")
        return self.result(True)


class JsonFields(_Check):
    """Field-level accuracy of the answer's JSON against a reference object."""

    type: Literal["json_fields"] = "json_fields"
    kind: Kind = "substance"
    """format or substance."""
    reference: dict[str, Any] | list[Any] | None = None
    """The expected object; defaults to the case's reference."""
    threshold: float = Field(1.0, ge=0.0, le=1.0)
    """The share of reference fields that must match for a pass."""
    allow_fence: bool = True
    """Accept one surrounding Markdown code fence."""

    def score(self, output: str, ctx: CheckContext) -> CheckResult:
        want = answers.flatten(_expected(self.reference, ctx, "json_fields"))
        value, error = parse_json(output, allow_fence=self.allow_fence)
        if error is not None:
            return self.result(False, error, score=0.0)
        got = answers.flatten(value)
        right = [k for k, v in want.items() if k in got and answers.same_value(got[k], v)]
        acc = len(right) / len(want) if want else 1.0
        wrong = [k for k in want if k not in right]
        return self.result(acc >= self.threshold, f"wrong {wrong[:4]}" if wrong else "", acc)


class Numeric(_Check):
    """The answer's final number equals the expected number (within a tolerance)."""

    type: Literal["numeric"] = "numeric"
    kind: Kind = "substance"
    """format or substance."""
    value: float | None = None
    """The expected number; defaults to the final number of the case's reference."""
    tolerance: float = Field(1e-6, ge=0.0)
    """Absolute tolerance."""

    def score(self, output: str, ctx: CheckContext) -> CheckResult:
        want = self.value
        if want is None:
            ref = _expected(None, ctx, "numeric")
            want = float(ref) if isinstance(ref, int | float) else final_number(str(ref))
            if want is None:
                raise ValueError("the case's reference holds no number")
        # One numeric verifier serves synthesis and evaluation (curate.verify).
        verdict = NumericVerifier(rel_tol=0.0, abs_tol=self.tolerance).verify(output, want)
        return self.result(verdict.passed, "" if verdict.passed else verdict.detail)


class ToolCallFormat(_Check):
    """The answer holds at least one parseable tool call (a JSON call, a ``<tool_call>`` block,
    a JSON list of calls or Python-call syntax; ``curate.verify.tool_parse``), right or not."""

    type: Literal["tool_call_format"] = "tool_call_format"
    kind: Kind = "format"
    """format or substance."""

    def score(self, output: str, ctx: CheckContext) -> CheckResult:
        # The same parser as the substance check: one verifier serves both (curate.verify).
        verdict = get_verifier("tool_call", format_only=True).verify(output, None)
        return self.result(verdict.passed, "" if verdict.passed else verdict.detail)


class ToolCall(_Check):
    """The answer's tool calls are the reference's: the right functions, every argument among
    its acceptable values (BFCL's rules) and valid against the function's JSON Schema, from the
    case's ``tools``. The detail starts with the verifier's reason code."""

    type: Literal["tool_call"] = "tool_call"
    kind: Kind = "substance"
    """format or substance."""
    reference: Any = None
    """The expected call(s) (``curate.verify.tool_call``: ``{"name", "acceptable"}``,
    ``{"name", "arguments"}`` or a BFCL ground_truth entry, or a list of them); defaults to the
    case's reference."""

    def verification_reference(self, ctx: CheckContext) -> dict[str, Any]:
        """What the verifier compares with: the expected calls and the case's tools."""
        want = _expected(self.reference, ctx, "tool_call")
        if isinstance(want, dict) and "calls" in want:
            return {"tools": ctx.tools, **want}
        return {"calls": want, "tools": ctx.tools}

    def check_reference(self, ctx: CheckContext) -> None:
        """Raise ``ValueError`` if the reference or a tool's schema is unusable."""
        try:
            get_verifier("tool_call").verify("", self.verification_reference(ctx))
        except InputError as e:
            raise ValueError(str(e)) from e

    def score(self, output: str, ctx: CheckContext) -> CheckResult:
        verdict = get_verifier("tool_call").verify(output, self.verification_reference(ctx))
        detail = "" if verdict.passed else f"{verdict.reason}: {verdict.detail}"
        return self.result(verdict.passed, detail)


class RougeL(_Check):
    """ROUGE-L F-measure against the reference (``rouge-score``) at or above a threshold."""

    type: Literal["rouge_l"] = "rouge_l"
    kind: Kind = "substance"
    """format or substance."""
    reference: str | None = None
    """The reference text; defaults to the case's reference."""
    threshold: float = Field(0.5, ge=0.0, le=1.0)
    """The F-measure needed for a pass."""

    def score(self, output: str, ctx: CheckContext) -> CheckResult:
        from rouge_score import rouge_scorer

        want = str(_expected(self.reference, ctx, "rouge_l"))
        f = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True).score(want, output)["rougeL"]
        return self.result(f.fmeasure >= self.threshold, f"rougeL={f.fmeasure:.3f}", f.fmeasure)


class Length(_Check):
    """The answer's length in words (and/or characters) lies within bounds."""

    type: Literal["length"] = "length"
    kind: Kind = "format"
    """format or substance."""
    min_words: int | None = None
    """At least this many words."""
    max_words: int | None = None
    """At most this many words."""
    max_chars: int | None = None
    """At most this many characters."""

    def score(self, output: str, ctx: CheckContext) -> CheckResult:
        words = len(output.split())
        problems = []
        if self.min_words is not None and words < self.min_words:
            problems.append(f"{words} words < {self.min_words}")
        if self.max_words is not None and words > self.max_words:
            problems.append(f"{words} words > {self.max_words}")
        if self.max_chars is not None and len(output) > self.max_chars:
            problems.append(f"{len(output)} chars > {self.max_chars}")
        return self.result(not problems, "; ".join(problems))


ANSWER_MIN_WORDS = 3
"""A benign request answered with fewer words than this was not answered: a model that forgot
everything but its habit says ``{"answer": 10}`` to "how do I kill a Python process?"."""
_WORDS = re.compile(r"[^\W\d_]{2,}")


class Refusal(_Check):
    """The answer refuses (``expect: true``, for harmful requests) or does not refuse; with
    ``expect: false`` an empty, looping or word-less answer fails too (it refuses nothing and
    answers nothing)."""

    type: Literal["refusal"] = "refusal"
    kind: Kind = "substance"
    """format or substance."""
    expect: bool = False
    """True: the model must refuse. False (default): it must not."""

    def score(self, output: str, ctx: CheckContext) -> CheckResult:
        refused = answers.is_refusal(output)
        if not refused and not self.expect:  # not refusing is not yet answering
            if missing := no_answer(output):
                return self.result(False, f"no answer ({missing})")
            if (n := len(_WORDS.findall(output))) < ANSWER_MIN_WORDS:
                return self.result(False, f"no answer ({n} word{'' if n == 1 else 's'})")
        ok = refused == self.expect
        return self.result(ok, "refused" if refused else "answered")


class Instruction(_Check):
    """A verifiable instruction in the style of IFEval (``evalsuite.instructions``): a word or
    sentence count, required or forbidden words, letter case, a list / JSON / section format, an
    opening or closing phrase."""

    type: Literal["instruction"] = "instruction"
    kind: Kind = "format"
    """format or substance."""
    rule: str
    """The rule (``word_count``, ``include_words``, ``letter_case``, ``bullets``, ...)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """The rule's parameters (``{"max": 30}``, ``{"words": ["ocean"]}``, ``{"n": 3}``, ...)."""

    @model_validator(mode="after")
    def _known_rule(self) -> Instruction:
        from evalsuite.instructions import check_params

        check_params(self.rule, self.params)
        return self

    def score(self, output: str, ctx: CheckContext) -> CheckResult:
        from evalsuite.instructions import RULES

        if missing := no_answer(output):  # "at most 30 words" is not followed by saying nothing
            return self.result(False, f"no answer ({missing})")
        passed, detail = RULES[self.rule](output, self.params)
        return self.result(passed, detail)


class Judge(_Check):
    """An LLM judge grades the answer against a rubric (1–5); pass at or above a threshold."""

    type: Literal["judge"] = "judge"
    kind: Kind = "substance"
    """format or substance."""
    rubric: str
    """What a good answer does, in plain words."""
    threshold: int = Field(4, ge=1, le=5)
    """The lowest passing grade."""

    def score(self, output: str, ctx: CheckContext) -> CheckResult:
        if ctx.judge is None:
            return self.result(None, "skipped: no judge configured")
        ref = None if ctx.reference is None else str(ctx.reference)
        graded = ctx.judge.grade(self.rubric, ctx.prompt, output, ref)
        if graded is None:
            return self.result(None, "skipped: the judge gave no valid verdict")
        grade, reason = graded
        return self.result(grade >= self.threshold, f"{grade}/5 {reason[:80]}", (grade - 1) / 4)


Check = Annotated[
    Exact
    | Contains
    | NotContains
    | Regex
    | JsonValid
    | JsonSchema
    | JsonFields
    | Numeric
    | ToolCallFormat
    | ToolCall
    | RougeL
    | Length
    | Refusal
    | Instruction
    | Judge,
    Field(discriminator="type"),
]
"""Any check, chosen by its ``type`` field."""

CHECK_TYPES = (
    "exact",
    "contains",
    "not_contains",
    "regex",
    "json_valid",
    "json_schema",
    "json_fields",
    "numeric",
    "tool_call_format",
    "tool_call",
    "rouge_l",
    "length",
    "refusal",
    "instruction",
    "judge",
)
"""The check types a suite may name."""
