"""Volatile facts in answers: what fine-tuning cannot keep fresh, and retrieval can.

Tuning teaches habits (format, tone, procedure); it is a poor store for facts that change.
An answer is *fact-heavy* when volatile facts (dates, prices, versions, named entities, current
events) make up a large part of it. When most answers are fact-heavy, the verdict suggests
retrieval instead of (or before) tuning.
"""

from __future__ import annotations

import re
from collections import Counter

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from curate.audit.format_profile import answer_text
from curate.pipeline.step import StepResult, findings_frame

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
PATTERNS: dict[str, re.Pattern[str]] = {
    "date": re.compile(
        rf"\b(?:1[89]\d\d|20\d\d)\b|\b(?:{_MONTHS})\.? \d{{1,2}}\b|\b\d{{1,2}} (?:{_MONTHS})\b|"
        r"\b\d{4}-\d{2}-\d{2}\b",
        re.I,
    ),
    "price": re.compile(
        r"[$€£¥]\s?\d[\d,.]*|\b\d[\d,.]*\s?(?:dollars|euros|pounds|usd|eur|gbp|cents)\b", re.I
    ),
    "version": re.compile(r"\bv?\d+\.\d+(?:\.\d+)+\b|\bversion \d+(?:\.\d+)*\b", re.I),
    "current_event": re.compile(
        r"\b(?:currently|as of|latest|recent(?:ly)?|this year|last year|today|nowadays|"
        r"at present|right now|up-to-date|breaking)\b",
        re.I,
    ),
    "entity": re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+\b", re.M),
}
"""Each volatile-fact kind's pattern (an entity is a run of capitalised words mid-sentence)."""


class VolatileConfig(BaseModel):
    """Volatile-fact detection for the retrieval hint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    """Count volatile facts in answers."""
    fact_density: float = Field(0.08, gt=0.0, le=1.0)
    """Volatile-fact matches per word at or over which an answer is fact-heavy."""
    min_facts: int = Field(2, ge=1)
    """An answer needs at least this many volatile facts to be fact-heavy."""
    examples: int = Field(5, ge=0)
    """Fact-heavy answers quoted in the report."""


def facts(text: str) -> dict[str, list[str]]:
    """Volatile facts in a text by kind."""
    return {kind: [m.group(0) for m in p.finditer(text)] for kind, p in PATTERNS.items()}


def is_fact_heavy(text: str, config: VolatileConfig) -> tuple[bool, dict[str, list[str]]]:
    """Whether volatile facts dominate an answer, and the facts found."""
    found = facts(text)
    n = sum(len(v) for v in found.values())
    words = max(1, len(text.split()))
    return n >= config.min_facts and n / words >= config.fact_density, found


class FactHeavyExample(BaseModel):
    """A fact-heavy answer quoted in the report."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    """The record's id."""
    answer: str
    """The start of its answer (300 characters)."""
    facts: dict[str, list[str]]
    """Up to four facts of each kind found in it."""


class VolatileFigures(BaseModel):
    """How much of the answers is volatile facts (figures only, no findings)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    answers: int
    """Answers read (one per record)."""
    fact_heavy: int
    """Answers dominated by volatile facts."""
    fact_heavy_share: float
    """``fact_heavy / answers``; the verdict's retrieval rule reads it."""
    answers_with_kind: dict[str, int]
    """Answers with at least one fact of each kind (``date``, ``price``, ...)."""
    examples: list[FactHeavyExample]
    """The first fact-heavy answers (up to ``examples``)."""
    fact_density: float
    """The configured ``fact_density``."""


class VolatileFacts:
    """The step: the share of fact-heavy answers, by kind, with examples (figures only)."""

    name = "volatile"

    def __init__(self, config: VolatileConfig | None = None) -> None:
        self.config = config or VolatileConfig()

    def run(self, records: pl.DataFrame) -> StepResult[VolatileFigures]:
        """Figures: ``fact_heavy_share``, counts by kind, examples."""
        rows = records.select("id", "kind", "completion", "chosen").iter_rows(named=True)
        heavy = 0
        by_kind: Counter[str] = Counter()
        examples: list[FactHeavyExample] = []
        n = 0
        for row in rows:
            n += 1
            text = answer_text(row)
            flag, found = is_fact_heavy(text, self.config)
            by_kind.update(k for k, v in found.items() if v)
            if flag:
                heavy += 1
                if len(examples) < self.config.examples:
                    spans = {k: v[:4] for k, v in found.items() if v}
                    examples.append(FactHeavyExample(id=row["id"], answer=text[:300], facts=spans))
        figures = VolatileFigures(
            answers=n,
            fact_heavy=heavy,
            fact_heavy_share=round(heavy / n, 4) if n else 0.0,
            answers_with_kind=dict(sorted(by_kind.items())),
            examples=examples,
            fact_density=self.config.fact_density,
        )
        return StepResult(findings=findings_frame([]), figures=figures)
