"""Duplicate clusters: connected components over similar pairs, and the representative each keeps.

The representative of a cluster is chosen deterministically and the rule is written into every
finding's evidence: a *complete* answer first (one that does not stop mid-sentence or inside an
open code block), then the longest answer, then the earliest row, then the smallest id.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from curate.records import text_of

REPRESENTATIVE_RULE = "complete answer first, then the longest answer, then the earliest row"
"""How the kept record of a cluster is chosen; quoted in each duplicate finding."""

_TERMINAL = r"[.!?。！？…)\]}\"'`*>|]$"
"""Answer endings that read as complete (sentence end, closed bracket/quote/fence, table)."""


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected components of ``n`` nodes joined by the pairs ``(left[k], right[k])``.

    This is union-find over the pairs, done by SciPy's compiled graph routine so a million nodes
    and edges take well under a second.

    Returns:
        One label per node; nodes without edges get their own label.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ones = np.ones(len(left), dtype=np.int8)
    graph = coo_matrix((ones, (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def complete_expr(answer: pl.Expr) -> pl.Expr:
    """Whether an answer's contents (``content_text`` of the answer columns: a KTO label is not
    part of how an answer ends) look complete: it ends like a finished text, fences closed."""
    closed = answer.str.count_matches("```", literal=True) % 2 == 0
    return (answer.str.len_chars() > 0) & answer.str.contains(_TERMINAL) & closed


def choose_representatives(records: pl.DataFrame, labels: np.ndarray) -> pl.DataFrame:
    """The kept record of each cluster with more than one member.

    Args:
        records: a frame of ``RECORD_SCHEMA``.
        labels: a cluster label per record (same order).

    Returns:
        A frame with one row per record in a multi-member cluster: ``label``, ``idx`` (position
        in ``records``), ``id``, ``row``, ``rep_idx``, ``rep_id``, ``rep_row``, ``size``; the representative
        itself is among them (``idx == rep_idx``).
    """
    from curate.text.normalize import answer_chars, content_text

    shared = np.bincount(labels)[labels] > 1 if len(labels) else np.zeros(0, dtype=bool)
    # Members of multi-member clusters only (the rest is most), gathered by position: a filter
    # would copy every column of the whole frame first. The cluster goes in its own column: the
    # answer text reads the record's ``label`` (a KTO label), which it must not shadow.
    idx = np.flatnonzero(shared)
    frame = (
        records.select("id", "row", "completion", "chosen", "rejected", "label")[idx.tolist()]
        .with_columns(
            pl.Series("idx", idx, dtype=pl.Int64),
            pl.Series("cluster", labels[idx], dtype=pl.Int64),
            content_text(("completion", "chosen", "rejected")).alias("answer"),
        )
        .select(
            "idx",
            "id",
            "row",
            complete_expr(pl.col("answer")).alias("complete"),
            answer_chars().alias("answer_chars"),
            "cluster",
        )
    )
    ordered = frame.sort(
        ["cluster", "complete", "answer_chars", "row", "id"],
        descending=[False, True, True, False, False],
        nulls_last=True,
    )
    return ordered.select(
        pl.col("cluster").alias("label"),
        "idx",
        "id",
        "row",
        pl.col("idx").first().over("cluster").alias("rep_idx"),
        pl.col("id").first().over("cluster").alias("rep_id"),
        pl.col("row").first().over("cluster").alias("rep_row"),
        pl.len().over("cluster").alias("size"),
    )


def duplicate_findings(
    members: pl.DataFrame,
    *,
    check: str,
    reason: str,
    severity: str,
    cluster_ids: pl.Expr,
    similarity: pl.Expr,
    extra: dict[str, object] | None = None,
) -> pl.DataFrame:
    """Findings (``FINDING_SCHEMA``) for the non-representative members of clusters.

    Built with Polars expressions rather than one ``Finding`` object per row, so a million
    duplicates cost seconds; the evidence JSON's keys come in a fixed order, so output is byte-stable.

    Args:
        members: the output of ``choose_representatives`` (plus any columns the expressions use).
        check: the check name (``exact_dedup``, ``near_dedup``, ...).
        reason: the reason code.
        severity: the default severity.
        cluster_ids: an expression giving each member's cluster id.
        similarity: an expression giving each member's similarity to its representative.
        extra: constant evidence fields (the threshold, the shingling, ...).
    """
    import json

    from curate.pipeline.step import FINDING_SCHEMA

    dups = members.filter(pl.col("idx") != pl.col("rep_idx"))
    fields = {**(extra or {}), "rule": REPRESENTATIVE_RULE}
    constant = json.dumps(fields, sort_keys=True)
    evidence = json_object(
        {
            "duplicate_of": quoted(pl.col("rep_id")),
            "representative_row": pl.col("rep_row").fill_null(-1).cast(pl.Utf8),
            "similarity": similarity.round(4).cast(pl.Utf8),
            "cluster_size": pl.col("size").cast(pl.Utf8),
        },
        constant,
    )
    return dups.select(
        pl.col("id").alias("record_id"),
        pl.col("row"),
        pl.lit(check).alias("check"),
        pl.lit(severity).alias("severity"),
        pl.lit(reason).alias("reason"),
        evidence.alias("evidence"),
        cluster_ids.alias("cluster_id"),
    ).cast(FINDING_SCHEMA)  # type: ignore[arg-type]


def quoted(expr: pl.Expr) -> pl.Expr:
    """A JSON string literal of a text column that needs no escaping (ids, hex keys)."""
    return pl.lit('"') + expr + pl.lit('"')


def json_object(fields: dict[str, pl.Expr], constant: str = "{}") -> pl.Expr:
    """A JSON object per row: the given JSON-valued expressions, then a constant object's fields.

    Keys come in the order given, so the text is byte-stable from run to run.
    """
    import json

    parts: list[pl.Expr] = []
    for i, (key, value) in enumerate(fields.items()):
        parts += [pl.lit(("{" if i == 0 else ", ") + json.dumps(key) + ": "), value]
    tail = constant.strip()[1:-1].strip()
    parts.append(pl.lit((", " + tail if tail else "") + "}"))
    return pl.concat_str(parts)


def kept_apart(records: pl.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """A mask over candidate duplicate pairs: True where the records differ in kind, in KTO
    label or in the tools they offer, which dedup never merges whatever their similarity."""
    kinds = records["kind"].to_list()
    labels = records["label"].to_list()
    tools = records["tools"].to_list()
    return np.array(
        [
            kinds[i] != kinds[j] or labels[i] != labels[j] or tools[i] != tools[j]
            for i, j in zip(left.tolist(), right.tolist(), strict=True)
        ],
        dtype=bool,
    )


def conflicting_pairs(records: pl.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """A mask over candidate duplicate pairs: True where the two final answers conflict, where
    the two answers differ in format (prose against JSON, other JSON keys, code against prose,
    or a list against a paragraph where the set has a dominant format), or where the two
    records differ in kind or in KTO label (an undesirable completion is never merged into a
    desirable one).

    Such pairs are contradictions (for the contradiction step), not duplicates to merge: merging
    them would keep one side's answer or format at random and hide the conflict.
    """
    from curate.audit.answer_conflicts import final_answers_conflict
    from curate.audit.format_profile import SET_FORMAT_SAMPLE, format_conflict, profile

    if not len(left):
        return np.zeros(0, dtype=bool)
    apart = kept_apart(records, left, right)
    involved = np.unique(np.concatenate([left, right]))
    sub = records[involved.tolist()]
    prompts = [text_of(p) for p in sub["prompt"].to_list()]
    answers = _answers(sub)
    at = {int(i): k for k, i in enumerate(involved)}
    li, ri = [at[int(i)] for i in left], [at[int(i)] for i in right]
    asks, a, b = [prompts[i] for i in li], [answers[i] for i in li], [answers[i] for i in ri]
    # The set's dominant format decides only pairs whose answers differ in markdown structure
    # alone (a list against a paragraph), and profiling a sample of the set costs more than the
    # pairs themselves: ask first with a set format no answer has (structure never counts), and
    # profile the set only for the pairs left apart on structure alone.
    if len(involved) > SET_FORMAT_SAMPLE:  # profiling the pairs would cost more than the set
        return np.array(final_answers_conflict(asks, a, b, set_format(records)), dtype=bool) | apart
    conflicts = np.array(final_answers_conflict(asks, a, b, set_format=_NO_FORMAT), dtype=bool)
    profiles = [profile(t) for t in answers]
    depends = [
        k
        for k, (i, j) in enumerate(zip(li, ri, strict=True))
        if not conflicts[k] and format_conflict(profiles[i], profiles[j]) == "structure"
    ]
    if depends:
        sf = set_format(records)
        conflicts[depends] = final_answers_conflict(
            [asks[k] for k in depends],
            [a[k] for k in depends],
            [b[k] for k in depends],
            set_format=sf,
        )
    return conflicts | apart


_NO_FORMAT = "(no format)"
"""A set format no answer has: structure-only differences never count against it."""


def set_format(records: pl.DataFrame) -> str:
    """The set's dominant answer format (``format_profile.set_format``), or ``mixed``."""
    from curate.audit.format_profile import SET_FORMAT_SAMPLE
    from curate.audit.format_profile import set_format as dominant

    step = max(1, len(records) // SET_FORMAT_SAMPLE)
    return dominant(_answers(records.gather_every(step)) if len(records) else [])


def _answers(records: pl.DataFrame) -> list[str]:
    return [
        text_of(c if c is not None else ch)
        for c, ch in zip(records["completion"].to_list(), records["chosen"].to_list(), strict=True)
    ]
