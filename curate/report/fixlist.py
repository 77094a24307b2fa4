"""The rows behind each failed verdict rule, in the order a reviewer should fix them.

A verdict reason ("quality findings 2.9% of records, over 2%") is only actionable with its rows.
For every rule that failed, every finding of the checks it counts is listed: rules in the
verdict's order (most serious first); within a rule, the reasons whose rows are most surely
wrong first (an empty answer before a length outlier, JSON among prose before a list among
paragraphs), then the rows that hold the most findings, then file order.

``write_fixlist`` writes that list whole to ``rows_to_fix.csv`` beside the report, for a
spreadsheet; the HTML page quotes the first ``SHOWN`` rows of each rule, and ``report.md`` names
every row by number.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from curate.pipeline.result import CurationResult

RULE_CHECKS = {
    "max_duplicate_share": ("exact_dedup", "near_dedup", "semantic_dedup"),
    "max_contradiction_share": ("contradictions",),
    "max_quality_share": ("quality",),
    "max_format_deviant_share": ("format",),
    "max_pii_share": ("pii",),
    "max_leakage": ("leakage",),
}
"""The checks whose findings a verdict rule counts (rules about size and diversity have no
rows of their own)."""

FIXLIST_NAME = "rows_to_fix.csv"
"""The whole list, one finding a line, beside ``report.html``."""
FIXLIST_COLUMNS = ("rule", "order", "row", "record_id", "check", "reason", "severity", "evidence")
"""The list's columns: the failed rule, the finding's place in the rule's fix order (from 1),
then the finding as ``findings.parquet`` holds it (evidence masked as the report's is)."""
SHOWN = 1000
"""Rows of each rule the HTML page quotes with their record; past this many, the page says
where the rest are (a page of a hundred thousand quoted rows no browser opens)."""

FIX_ORDER = (
    # quality: the answer is missing or broken, then wrong for the prompt, then merely unusual
    "empty_answer",
    "placeholder_answer",
    "truncated_answer",
    "broken_encoding",
    "merged_instructions",
    "refusal",
    "needs_unseen_content",
    "placeholder_input",
    "repetition",
    "assistant_boilerplate",
    "length_outlier",
    "length_ratio_outlier",
    # contradictions: a wrong final answer before two formats, before a judged divergence
    "conflicting_answer",
    "conflicting_format",
    "judged_contradiction",
    # format: a hard difference (JSON, code, table against text) before other JSON keys
    "format_deviant",
    "json_keys_deviant",
)
"""Reasons in the order to fix them; a reason not listed comes after these, by name."""


def _rank(reason: str, evidence: str | None) -> tuple[int, int]:
    at = FIX_ORDER.index(reason) if reason in FIX_ORDER else len(FIX_ORDER)
    structure = 0
    if reason == "format_deviant" and evidence:
        try:
            structure = int(json.loads(evidence).get("difference") == "structure")
        except ValueError:
            structure = 0
    return at, structure


def rows_to_fix(
    report: CurationResult, findings: pl.DataFrame | None
) -> list[tuple[str, pl.DataFrame]]:
    """``(rule, findings)`` per failed verdict rule that counts findings, most serious rule
    first, each frame sorted in fix order (every finding of the rule's checks, none left out).
    """
    if report.verdict is None or findings is None or findings.is_empty():
        return []
    out = []
    for check in report.verdict.checks:
        checks = RULE_CHECKS.get(check.rule)
        if check.passed or checks is None:
            continue
        part = findings.filter(pl.col("check").is_in(list(checks)))
        if part.is_empty():
            continue
        ranks = [_rank(r, e) for r, e in zip(part["reason"], part["evidence"], strict=True)]
        part = part.with_columns(
            pl.Series("_reason_rank", [r[0] for r in ranks]),
            pl.Series("_structure", [r[1] for r in ranks]),
            pl.len().over("record_id").alias("_per_row"),
        ).sort(
            ["_reason_rank", "reason", "_structure", "_per_row", "row", "record_id"],
            descending=[False, False, False, True, False, False],
            nulls_last=True,
        )
        out.append((check.rule, part.drop("_reason_rank", "_structure", "_per_row")))
    failed = [c.rule for c in report.verdict.checks if not c.passed]
    rank = {rule: i for i, rule in enumerate(_reason_order(report, failed))}
    return sorted(out, key=lambda item: rank.get(item[0], len(rank)))


def _reason_order(report: CurationResult, failed: list[str]) -> list[str]:
    """The failed rules in the order the verdict's reasons give them (most serious first)."""
    reasons = report.verdict.reasons if report.verdict else []
    labels = {r: r.removeprefix("min_").removeprefix("max_").replace("_", " ") for r in failed}
    order = []
    for sentence in reasons:
        order += [
            r for r, label in labels.items() if f": {label} is " in sentence and r not in order
        ]
    return order + [r for r in failed if r not in order]


def write_fixlist(path: Path, groups: list[tuple[str, pl.DataFrame]]) -> Path:
    """Write ``rows_to_fix`` groups to a CSV file (a header alone when no rule failed).

    One rule's rows at a time, after one header: the whole list is never one more copy of the
    findings in memory (1.75 million rows at a million records).
    """
    schema = {c: pl.Int64 if c in ("order", "row") else pl.Utf8 for c in FIXLIST_COLUMNS}
    with path.open("wb") as out:
        pl.DataFrame(schema=schema).write_csv(out)
        for rule, part in groups:
            part.select(
                pl.lit(rule).alias("rule"),
                pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("order"),
                *FIXLIST_COLUMNS[2:],
            ).write_csv(out, include_header=False)
    return path
