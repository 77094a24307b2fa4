"""The curation checks every synthetic record passes: dedup against the set, quality heuristics.

Synthetic records are deduplicated together with the existing records (of the same kind, so a
preference pair is never a copy of the SFT row it was built on; exact and MinHash near dedup
from ``curate``): a synthetic record in a cluster with an existing record is dropped as
``duplicate_of_existing`` whichever record the cluster kept; among synthetic records only, every
member but the cluster's representative is dropped as ``duplicate_synthetic``. Diversified
prompts are compared on the prompt alone (``on="prompt"``): their answer is the original's by
design. The quality heuristics run on the synthetic records; ``SynthConfig.quality_drop`` names
the reason codes that drop one.
"""

from __future__ import annotations

import json
from typing import Literal

import polars as pl

from curate.checks.quality import QualityCheck
from curate.dedup.exact import ExactConfig, ExactDedup
from curate.dedup.near import NearDedup
from curate.pipeline.step import Step
from curate.records import RECORD_SCHEMA, Record, from_frame, to_frame
from curate.synth.common import Drop
from curate.synth.config import SynthConfig

DEDUP_REASONS = ("exact_duplicate", "near_duplicate")


def screen(
    synthetic: list[Record],
    existing: pl.DataFrame,
    config: SynthConfig,
    *,
    on: Literal["record", "prompt"] = "record",
    quality_side: Literal["answer", "rejected"] = "answer",
) -> tuple[list[Record], list[Drop]]:
    """Drop synthetic records that duplicate the set or each other, or fail quality checks.

    Args:
        synthetic: the synthesised records.
        existing: the input set (``RECORD_SCHEMA``), which synthetic records must not repeat.
        config: ``quality_drop`` says which quality reasons drop a record.
        on: compare whole records, or prompts alone (diversified prompts).
        quality_side: check the record's answers, or (negatives) only the generated rejected
            side, since the chosen side is the input's own answer.
    """
    if not synthetic or not config.curation:
        return synthetic, []
    # Identical synthetic records share an id (it hashes the content): keep the first.
    unique: dict[str, Record] = {}
    drops: list[Drop] = []
    for r in synthetic:
        if r.id in unique:
            drops.append(_drop([r], r.id, "duplicate_synthetic", {"identical": True}))
        else:
            unique[r.id] = r
    synthetic = list(unique.values())
    drops += _dedup(synthetic, existing, on)
    gone = {d.detail["id"] for d in drops}
    left = [r for r in synthetic if r.id not in gone]
    drops += _quality(left, config, quality_side)
    gone |= {d.detail["id"] for d in drops}
    return [r for r in synthetic if r.id not in gone], drops


def _dedup(synthetic: list[Record], existing: pl.DataFrame, on: str) -> list[Drop]:
    ours = to_frame(synthetic)
    theirs = existing.select(list(RECORD_SCHEMA)).filter(~pl.col("id").is_in(ours["id"].implode()))
    if on == "record":
        # A record repeats only records of its own kind: a preference pair built on an SFT row
        # shares that row's prompt and answer by design, and is a new example, not a copy.
        theirs = theirs.filter(pl.col("kind").is_in(ours["kind"].unique().implode()))
    frame = pl.concat([theirs, ours])
    if on == "prompt":  # compare prompts only: blank every answer column
        frame = frame.with_columns(
            pl.lit("sft").alias("kind"),
            pl.lit([], dtype=RECORD_SCHEMA["completion"]).alias("completion"),
            pl.lit(None, dtype=RECORD_SCHEMA["chosen"]).alias("chosen"),
            pl.lit(None, dtype=RECORD_SCHEMA["rejected"]).alias("rejected"),
        )
    synthetic_ids = set(ours["id"])
    steps: list[Step] = [ExactDedup(ExactConfig(prompt_groups=False)), NearDedup()]
    members: dict[str, set[str]] = {}
    reason_of: dict[str, str] = {}
    for step in steps:
        found = step.run(frame).findings.filter(pl.col("reason").is_in(DEDUP_REASONS))
        for row in found.iter_rows(named=True):
            cluster = f"{step.name}:{row['cluster_id']}"
            rep = json.loads(row["evidence"])["duplicate_of"]
            members.setdefault(cluster, set()).update({row["record_id"], rep})
            reason_of[row["record_id"]] = row["reason"]
    drops: dict[str, Drop] = {}
    for cluster, ids in members.items():
        has_existing = bool(ids - synthetic_ids)
        for rid in sorted(ids & synthetic_ids):
            if has_existing:
                others = sorted(ids - synthetic_ids)
                drops.setdefault(
                    rid,
                    _drop(
                        synthetic,
                        rid,
                        "duplicate_of_existing",
                        {"cluster": cluster, "of": others[:3]},
                    ),
                )
            elif rid in reason_of:  # not the representative of an all-synthetic cluster
                drops.setdefault(
                    rid, _drop(synthetic, rid, "duplicate_synthetic", {"cluster": cluster})
                )
    return list(drops.values())


def _quality(records: list[Record], config: SynthConfig, side: str) -> list[Drop]:
    if not records:
        return []
    frame = to_frame(records)
    if side == "rejected":  # the generated side only, as an SFT answer
        frame = frame.with_columns(
            pl.lit("sft").alias("kind"),
            pl.col("rejected").alias("completion"),
            pl.lit(None, dtype=RECORD_SCHEMA["chosen"]).alias("chosen"),
            pl.lit(None, dtype=RECORD_SCHEMA["rejected"]).alias("rejected"),
        )
    found = QualityCheck().run(frame).findings
    found = found.filter(pl.col("reason").is_in(list(config.quality_drop)))
    drops: dict[str, Drop] = {}
    for row in found.iter_rows(named=True):
        drops.setdefault(
            row["record_id"],
            _drop(
                records,
                row["record_id"],
                row["reason"],
                {"evidence": json.loads(row["evidence"] or "{}")},
            ),
        )
    return list(drops.values())


def _drop(records: list[Record], rid: str, reason: str, detail: dict) -> Drop:
    record = next(r for r in records if r.id == rid)
    return Drop(record.meta.get("synth", {}).get("source_id", rid), reason, {"id": rid, **detail})


def records_of(frame: pl.DataFrame) -> list[Record]:
    """A frame of records as ``Record`` objects (the synth tasks work on objects)."""
    return from_frame(frame)
