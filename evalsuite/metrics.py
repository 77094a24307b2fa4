"""Every metric a run records declares its type, its direction and its family.

The gate reads the direction: ``higher_is_better`` decides whether a positive delta is an
improvement or a regression. ``None`` marks an informational metric that is reported but never
gated (an answer's length, say, is neither good nor bad by itself).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

MetricType = Literal["binary", "continuous"]
Family = Literal["overall", "format", "substance", "health", "general", "info"]


class MetricInfo(BaseModel):
    """What a metric measures and which way is better."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    """The metric's name, e.g. ``pass``, ``check:numeric``, ``health:truncated``."""
    type: MetricType
    """``binary`` (0/1 per case: McNemar) or ``continuous`` (paired bootstrap)."""
    higher_is_better: bool | None
    """True/False gives the direction; None means informational, never gated."""
    family: Family
    """Which question it answers: overall verdict, format, substance, health, general ability."""
    description: str = ""
    """One line for reports."""


PASS = MetricInfo(
    name="pass",
    type="binary",
    higher_is_better=True,
    family="overall",
    description="every check of the case passed",
)
FORMAT_PASS = MetricInfo(
    name="format_pass",
    type="binary",
    higher_is_better=True,
    family="format",
    description="every format check passed (the template was followed)",
)
SUBSTANCE_PASS = MetricInfo(
    name="substance_pass",
    type="binary",
    higher_is_better=True,
    family="substance",
    description="every substance check passed (the content was right)",
)
WORDS = MetricInfo(
    name="words",
    type="continuous",
    higher_is_better=None,
    family="info",
    description="words in the answer",
)
PERPLEXITY = MetricInfo(
    name="probe_nll",
    type="continuous",
    higher_is_better=False,
    family="general",
    description="mean negative log-likelihood per token on the general probe texts (log ppl)",
)

HEALTH_FLAGS: dict[str, str] = {
    "empty": "the answer is empty or whitespace",
    "truncated": "generation stopped at max_tokens",
    "missing_eot": "the model ran past its turn (a chat-template marker or a new role turn)",
    "repetition": "the answer repeats itself (most of its 4-grams are repeats)",
}


def health_metric(flag: str) -> MetricInfo:
    """The metric for a generation-health flag (lower is better)."""
    return MetricInfo(
        name=f"health:{flag}",
        type="binary",
        higher_is_better=False,
        family="health",
        description=HEALTH_FLAGS[flag],
    )


def check_metric(name: str, kind: str) -> MetricInfo:
    """The pass/fail metric of one named check."""
    return MetricInfo(
        name=f"check:{name}",
        type="binary",
        higher_is_better=True,
        family="format" if kind == "format" else "substance",
        description=f"the {kind} check {name!r} passed",
    )


def score_metric(name: str, kind: str) -> MetricInfo:
    """The continuous score (0..1) of one named check, where the check has one."""
    return MetricInfo(
        name=f"score:{name}",
        type="continuous",
        higher_is_better=True,
        family="format" if kind == "format" else "substance",
        description=f"the {kind} check {name!r}'s score",
    )
