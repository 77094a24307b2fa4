"""The synthesis report and result, and the files a run writes.

Outputs in the run's folder:

- ``records.jsonl``: the kept synthetic records in TRL's format (preference pairs for
  ``negatives``; SFT records for ``teacher`` and ``diversify``), ``meta.synth`` included;
- ``corrections.jsonl``: ``negatives`` only, the "error then correction" SFT examples;
- ``dropped.jsonl``: every synthesised item that was not kept, with its reason code;
- ``report.json``: the ``SynthReport``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, Field

from curate.synth.common import Drop
from curate.synth.sampling import SamplingFigures
from curate.synth.verify import PairFigures

FILES = {
    "records": "records.jsonl",
    "corrections": "corrections.jsonl",
    "dropped": "dropped.jsonl",
    "report": "report.json",
}


class SynthReport(BaseModel):
    """What a synthesis run made, kept and dropped, and why."""

    task: str
    """``teacher``, ``diversify`` or ``negatives``."""
    backend: str
    """The generator's backend."""
    model: str
    """The generator's model."""
    judge_model: str | None = None
    """The judge's model (``negatives`` with verification)."""
    templates: dict[str, str] = Field(default_factory=dict)
    """Templates used, name → version."""
    n_input: int
    """Records in the input."""
    n_considered: int
    """Records synthesised for (after ``limit``)."""
    n_generated: int
    """Items generated (answers, rewrites, rejected answers)."""
    n_kept: int
    """Synthetic records kept (``records.jsonl``)."""
    n_corrections: int = 0
    """"Error then correction" SFT examples kept (``corrections.jsonl``)."""
    dropped: dict[str, int] = Field(default_factory=dict)
    """Items not kept, counted by reason code."""
    selected: dict[str, int] = Field(default_factory=dict)
    """Teacher: records selected, by why (missing, short, flagged, all)."""
    by_style: dict[str, int] = Field(default_factory=dict)
    """Diversify: rewrites generated per style."""
    by_error_type: dict[str, dict[str, int]] = Field(default_factory=dict)
    """Negatives: per error type, pairs ``generated`` and ``kept``."""
    verification: PairFigures | None = None
    """Negatives: the judge's figures, position bias and length bias."""
    sampling: SamplingFigures | None = None
    """With a verifier: pass@k, per-prompt rows (each sample's fate), pairs per prompt and the
    length-bias figures of the kept pairs. ``dropped`` then counts samples by reason (and
    prompts without a reference as ``no_reference``)."""
    cache: dict[str, int] = Field(default_factory=dict)
    """Generation cache ``hits`` and ``misses`` of this run (a rerun is all hits)."""
    seconds: float = 0.0
    """Wall time of the run."""


@dataclass
class SynthResult:
    """What ``synthesize`` returns: the kept records, the corrections, the drops, the report."""

    records: pl.DataFrame
    """Kept synthetic records (``RECORD_SCHEMA``)."""
    corrections: pl.DataFrame
    """"Error then correction" SFT records (``negatives`` only; else empty)."""
    dropped: list[Drop]
    """Every synthesised item not kept, with its reason."""
    report: SynthReport
    """The figures."""


def count_reasons(drops: list[Drop]) -> dict[str, int]:
    """Drops counted by reason code, most frequent first."""
    counts: dict[str, int] = {}
    for d in drops:
        counts[d.reason] = counts.get(d.reason, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def write_result(result: SynthResult, out_dir: str | Path) -> dict[str, Path]:
    """Write the run's files (see the module docstring); returns their paths by name."""
    from curate.io.writers import write_records

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / file for name, file in FILES.items()}
    write_records(result.records, paths["records"])
    if result.report.task == "negatives":
        write_records(result.corrections, paths["corrections"])
    else:
        del paths["corrections"]
    with paths["dropped"].open("w", encoding="utf-8") as f:
        for d in result.dropped:
            row: dict[str, Any] = {"source_id": d.source_id, "reason": d.reason, **d.detail}
            f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    paths["report"].write_text(result.report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return paths
