"""Quality heuristics: one reason code per defect, checked on the prompt and every answer side.

The text rules live in ``curate/quality_rules.py``; this step runs them over a frame of records,
adds the two statistics that need the whole set (length outliers by a robust z-score), and writes
one finding per record, reason and side. Evidence names the side (``prompt``, ``completion``,
``chosen`` or ``rejected``) and what matched. Every finding is ``review`` unless the config says
otherwise (``QualityConfig.severity``, applied by ``run_steps``): these are heuristics, and a
person should look before anything is dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator

from curate.checks import quality_content as rules
from curate.checks import quality_damage as damage
from curate.pipeline.step import Finding, OmitNone, Severity, StepResult, findings_frame

QUALITY_REASONS = (
    "empty_answer",
    "placeholder_answer",
    "placeholder_input",
    "needs_unseen_content",
    "merged_instructions",
    "truncated_answer",
    "refusal",
    "assistant_boilerplate",
    "length_outlier",
    "length_ratio_outlier",
    "repetition",
    "broken_encoding",
)
"""Every reason code the quality check writes."""
LENGTH_REASONS = ("length_outlier", "length_ratio_outlier")
"""Reasons that are statistics of the set, not defects of a row: a robust z-score flags a share
of any set's answers (long chat answers to short questions, most of it on the real sets), so
they are listed for review but not counted as defects by the readiness verdict."""


class QualityConfig(BaseModel):
    """Which quality heuristics run, their thresholds, and the severity of what they find."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    """Run the quality check at all."""
    skip: tuple[str, ...] = ()
    """Reason codes not to check (from ``QUALITY_REASONS``)."""
    severity: dict[str, Severity] = Field(default_factory=dict)
    """Severity per reason code; a reason not listed is ``review``. ``{"empty_answer": "drop"}``
    removes empty answers from the curated set. Applied by ``run_steps`` with the config's
    other overrides (``CurateConfig.severity_overrides``), which beat it."""
    outlier_z: float = Field(3.5, gt=0)
    """Robust z-score beyond which a length is an outlier: ``0.6745 * (x - median) / MAD`` on
    the square root of the token count or ratio (Iglewicz and Hoaglin's modified z; 3.5 is
    their recommended cut)."""
    min_records_for_outliers: int = Field(50, ge=3)
    """Fewer answer sides than this and length outliers are not computed (no stable median)."""
    min_words_mid_sentence: int = Field(25, ge=1)
    """A final prose paragraph without terminal punctuation counts as truncated only when it is
    at least this many words (short labels, list items and poem lines lack a full stop)."""
    repetition_ngram: int = Field(8, ge=2)
    """Word n-gram size for repeated-phrase detection (8: song choruses of 4–6 words that
    repeat by design stay below the cut more often than with shorter n-grams)."""
    max_dup_ngram_fraction: float = Field(0.6, gt=0, le=1)
    """Share of an answer's words covered by repeated n-grams at which it is repetitive."""
    min_words_for_repetition: int = Field(30, ge=1)
    """Answers shorter than this are not checked for repeated n-grams."""
    max_dup_line_fraction: float = Field(0.5, gt=0, le=1)
    """Share of an answer's lines (of two words or more) that repeat an earlier line."""
    min_lines_for_repetition: int = Field(4, ge=2)
    """Answers with fewer such lines are not checked for repeated lines."""
    max_word_run: int = Field(5, ge=1)
    """The same word this many times in a row, plus one, is repetition ("the the the ...")."""

    @field_validator("skip", "severity")
    @classmethod
    def _known_reasons(cls, value: Any) -> Any:
        unknown = sorted(set(value) - set(QUALITY_REASONS))
        if unknown:
            raise ValueError(f"unknown reason(s) {unknown}; known: {list(QUALITY_REASONS)}")
        return value


class LengthStats(BaseModel):
    """The robust statistics of one length metric, over the non-empty answer sides."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    median: float
    """The metric's median (tokens, or the answer/prompt token ratio)."""
    mad_sqrt: float
    """The median absolute deviation of the metric's square root."""
    z_cut: float
    """The robust z-score beyond which a side is an outlier (``outlier_z``)."""


class QualityFigures(BaseModel):
    """What the quality check found."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    records: int
    """Records checked."""
    findings: int
    """Findings written (one per record, reason and side)."""
    records_flagged: int
    """Records with at least one finding."""
    records_with_defects: int = 0
    """Records with at least one finding other than a length statistic (``LENGTH_REASONS``):
    the figure the readiness verdict's quality share counts."""
    by_reason: dict[str, int]
    """Findings per reason code checked (``skip`` leaves a reason out)."""
    answer_tokens: OmitNone[LengthStats] = None
    """Tokens per answer side (absent when there were too few answers for outliers)."""
    answer_prompt_ratio: OmitNone[LengthStats] = None
    """Answer tokens over prompt tokens (absent when there were too few answers)."""
    length_outliers: OmitNone[str] = None
    """Why length outliers were not computed (``skipped: too few answers``), if they were not."""


def _messages(col: str, roles: tuple[str, ...] | None = None) -> pl.Expr:
    """A message-list column's contents joined by blank lines (optionally only some roles)."""
    messages = pl.col(col)
    if roles is not None:
        role = pl.element().struct.field("role")
        messages = messages.list.eval(pl.element().filter(role.is_in(list(roles))))
    contents = messages.list.eval(pl.element().struct.field("content").fill_null(""))
    return contents.list.join("\n\n").fill_null("")


def answer_sides(records: pl.DataFrame) -> pl.DataFrame:
    """One row per answer side: ``record``, ``id``, ``row``, ``side``, ``text``, ``prompt``,
    ``turn``.

    SFT and KTO records have a ``completion`` side, preference records two (``chosen``,
    ``rejected``); a missing side is an empty text, so it is reported as empty. A multi-turn SFT
    conversation's earlier assistant turns are sides too (``turn 3``: the message's index in the
    conversation), each checked like the last; ``turn`` is the index (null for single-turn
    records and preference sides). An assistant turn that only calls tools is no prose to
    check and is left out (the tool-call check reads it).
    """
    base = records.with_row_index("record").with_columns(
        _messages("prompt", ("user",)).alias("prompt_text"),
        pl.col("prompt").list.len().alias("n_prompt"),
    )
    multi = base.select(
        "record",
        pl.col("prompt")
        .list.eval(pl.element().struct.field("role") == "assistant")
        .list.any()
        .fill_null(False)
        .alias("multi"),
    )["multi"]
    base = base.with_columns(multi.alias("multi"))
    parts = []
    for side, kinds in (
        ("completion", ["sft", "kto"]),
        ("chosen", ["preference"]),
        ("rejected", ["preference"]),
    ):
        parts.append(
            base.filter(pl.col("kind").is_in(kinds)).select(
                "record",
                "id",
                "row",
                pl.lit(side).alias("side"),
                _messages(side).alias("text"),
                pl.col("prompt_text").alias("prompt"),
                pl.when(pl.col("multi"))
                .then(pl.col("n_prompt"))
                .otherwise(None)
                .cast(pl.Int64)
                .alias("turn"),
            )
        )
    earlier = (
        base.filter((pl.col("kind") == "sft") & pl.col("multi"))
        .select("record", "id", "row", "prompt_text", "prompt")
        .with_columns(pl.int_ranges(pl.col("prompt").list.len()).alias("turn"))
        .explode("prompt", "turn")
        .filter(pl.col("prompt").struct.field("role") == "assistant")
        .filter(
            pl.col("prompt").struct.field("tool_calls").is_null()
            | pl.col("prompt").struct.field("content").fill_null("").str.strip_chars().ne("")
        )
        .select(
            "record",
            "id",
            "row",
            (pl.lit("turn ") + pl.col("turn").cast(pl.Utf8)).alias("side"),
            pl.col("prompt").struct.field("content").fill_null("").alias("text"),
            pl.col("prompt_text").alias("prompt"),
            pl.col("turn").cast(pl.Int64),
        )
    )
    sides = pl.concat([*parts, earlier])
    only_calls = pl.col("text").str.strip_chars().eq("") & _calls_only(records, sides)
    return sides.filter(~only_calls).sort("record", "side")


def _calls_only(records: pl.DataFrame, sides: pl.DataFrame) -> pl.Series:
    """Whether a completion side is an assistant turn that only calls tools."""
    calls = records.select(
        pl.col("completion")
        .list.eval(pl.element().struct.field("tool_calls").list.len().fill_null(0))
        .list.sum()
        .fill_null(0)
        .alias("n")
    )["n"].to_list()
    flags = [
        s == "completion" and calls[r] > 0
        for r, s in zip(sides["record"], sides["side"], strict=True)
    ]
    return pl.Series(flags, dtype=pl.Boolean)


def _turn(turns: dict[tuple[int, str], int], record: int, side: str) -> dict[str, int]:
    """``{"turn": i}`` for a side of a multi-turn conversation (i: the message's index)."""
    turn = turns.get((record, side))
    return {} if turn is None else {"turn": turn}


def _robust_z(values: np.ndarray) -> np.ndarray:
    """Modified z-scores (median and MAD); zeros when the MAD is zero (no spread to judge by)."""
    median = np.median(values)
    mad = np.median(np.abs(values - median))
    if mad == 0:
        return np.zeros_like(values)
    return 0.6745 * (values - median) / mad


class QualityCheck:
    """The quality step: heuristics on prompts and answers, each with its own reason code."""

    name = "quality"

    def __init__(self, config: QualityConfig | None = None) -> None:
        self.config = config or QualityConfig()

    def _on(self, reason: str) -> bool:
        return reason not in self.config.skip

    def run(self, records: pl.DataFrame) -> StepResult[QualityFigures]:
        """Check every record; one finding per record, reason and side."""
        cfg = self.config
        sides = answer_sides(records)
        found: list[tuple[int, str, str, dict[str, Any]]] = []  # (record, reason, side, evidence)
        turns = {
            (r, side): t
            for r, side, t in zip(sides["record"], sides["side"], sides["turn"], strict=True)
            if t is not None
        }
        self._turns = turns

        prompts = records.select(
            _messages("prompt", ("user",)).alias("user"), _messages("prompt").alias("all")
        )
        for i, (user, whole) in enumerate(zip(prompts["user"], prompts["all"], strict=True)):
            for reason, prompt_rule, text in (
                ("placeholder_input", rules.placeholder_input, user),
                ("needs_unseen_content", rules.needs_unseen_content, user),
                ("broken_encoding", damage.broken_encoding, whole),
            ):
                if self._on(reason) and (evidence := prompt_rule(text)):
                    found.append((i, reason, "prompt", evidence))

        answer_rules: list[tuple[str, Callable[[str], dict[str, Any] | None]]] = [
            ("placeholder_answer", rules.placeholder_answer),
            ("merged_instructions", rules.merged_instructions),
            ("truncated_answer", lambda t: damage.truncated(t, cfg.min_words_mid_sentence)),
            ("refusal", rules.refusal),
            ("assistant_boilerplate", rules.assistant_boilerplate),
            ("repetition", self._repetition),
            ("broken_encoding", damage.broken_encoding),
        ]
        active = [(reason, rule) for reason, rule in answer_rules if self._on(reason)]
        for i, side, text in zip(sides["record"], sides["side"], sides["text"], strict=True):
            if not text.strip():
                if self._on("empty_answer"):
                    found.append((i, "empty_answer", side, {"span": text}))
                continue
            for reason, rule in active:
                if evidence := rule(text):
                    found.append((i, reason, side, evidence))

        outliers, stats = self._length_outliers(sides)
        found.extend(outliers)
        return self._result(records, found, stats)

    def _repetition(self, text: str) -> dict[str, Any] | None:
        cfg = self.config
        return damage.repetition(
            text,
            ngram=cfg.repetition_ngram,
            max_dup_ngram_fraction=cfg.max_dup_ngram_fraction,
            min_words=cfg.min_words_for_repetition,
            max_dup_line_fraction=cfg.max_dup_line_fraction,
            min_lines=cfg.min_lines_for_repetition,
            max_run=cfg.max_word_run,
        )

    def _length_outliers(
        self, sides: pl.DataFrame
    ) -> tuple[list[tuple[int, str, str, dict[str, Any]]], dict[str, Any]]:
        """Robust z-scores of sqrt(tokens per answer) and of sqrt(answer / prompt tokens).

        The square root is the variance-stabilising transform for counts. On raw counts the
        skew makes every long essay an outlier (197 of Alpaca's 9,229 answers at z 3.5); on
        logs the mix of one-word labels and essays widens the MAD so that nothing is (the
        717-word answer scores 2.3). Tokens are whitespace-separated words: no tokenizer
        needed, and the ranking is the same.
        """
        cfg = self.config
        nonempty = sides.filter(pl.col("text").str.strip_chars() != "")
        if len(nonempty) < cfg.min_records_for_outliers:
            return [], {"length_outliers": "skipped: too few answers"}
        counts = nonempty.select(
            pl.col("text").str.count_matches(r"\S+").alias("answer"),
            pl.col("prompt").str.count_matches(r"\S+").alias("prompt"),
        )
        answer = counts["answer"].to_numpy().astype(np.float64)
        prompt = counts["prompt"].to_numpy().astype(np.float64)
        metrics = {
            "length_outlier": ("answer_tokens", answer, np.sqrt(answer)),
            "length_ratio_outlier": (
                "answer_prompt_ratio",
                (answer + 1) / (prompt + 1),
                np.sqrt((answer + 1) / (prompt + 1)),
            ),
        }
        out: list[tuple[int, str, str, dict[str, Any]]] = []
        stats: dict[str, Any] = {}
        records = nonempty["record"].to_list()
        sides_list = nonempty["side"].to_list()
        for reason, (metric, raw, scaled) in metrics.items():
            z = _robust_z(scaled)
            stats[metric] = LengthStats(
                median=round(float(np.median(raw)), 3),
                mad_sqrt=round(float(np.median(np.abs(scaled - np.median(scaled)))), 3),
                z_cut=cfg.outlier_z,
            )
            if not self._on(reason):
                continue
            for k in np.flatnonzero(np.abs(z) > cfg.outlier_z):
                evidence = {
                    "metric": metric,
                    "value": round(float(raw[k]), 3),
                    "median": stats[metric].median,
                    "z": round(float(z[k]), 2),
                    "direction": "long" if z[k] > 0 else "short",
                }
                out.append((records[k], reason, sides_list[k], evidence))
        return out, stats

    def _result(
        self,
        records: pl.DataFrame,
        found: list[tuple[int, str, str, dict[str, Any]]],
        stats: dict[str, Any],
    ) -> StepResult[QualityFigures]:
        ids, rows = records["id"].to_list(), records["row"].to_list()
        found.sort(key=lambda f: (f[0], QUALITY_REASONS.index(f[1]), f[2]))
        findings = [
            Finding(
                record_id=ids[i],
                row=rows[i],
                check=self.name,
                severity="review",
                reason=reason,
                evidence={"side": side, **_turn(self._turns, i, side), **evidence},
            )
            for i, reason, side, evidence in found
        ]
        by_reason = Counter(reason for _, reason, _, _ in found)
        figures = QualityFigures(
            records=len(records),
            findings=len(findings),
            records_flagged=len({i for i, *_ in found}),
            records_with_defects=len({i for i, r, *_ in found if r not in LENGTH_REASONS}),
            by_reason={r: by_reason.get(r, 0) for r in QUALITY_REASONS if self._on(r)},
            **stats,
        )
        return StepResult(findings=findings_frame(findings), figures=figures)
