"""``CurationResult``: what a curation run produced. Its JSON (``report.json``) is the contract the
HTML report and the API consume.

Counts always add up: ``n_input_rows == n_rejected + n_records`` (a source where one row holds
several records, an OpenAssistant message tree, has more records than rows) and
``n_records == n_kept + n_dropped``; ``dropped_by_reason`` sums to ``n_dropped`` (each dropped
record counted once, under the first ``drop`` finding that removed it).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from curate.audit.contradictions import ContradictionsFigures
from curate.audit.diversity import DiversityFigures
from curate.audit.format_profile import FormatFigures
from curate.audit.verdict import ReadinessVerdict
from curate.audit.volatile import VolatileFigures
from curate.checks.leakage import LeakageFigures
from curate.checks.pii import PIIFigures
from curate.checks.quality import QualityFigures
from curate.checks.tool_calls import ToolCallFigures
from curate.dedup.exact import ExactFigures
from curate.dedup.near import NearFigures
from curate.dedup.semantic import SemanticFigures
from curate.pipeline.config import CurateConfig
from curate.pipeline.step import OmitNone


class ClusterSummary(BaseModel):
    """One duplicate (or same-prompt) cluster, with an example."""

    model_config = ConfigDict(frozen=True)

    cluster_id: str
    """The id findings carry (``exact:…``, ``near:…``, ``semantic:…``, ``prompt:…``)."""
    check: str
    """The check that formed it."""
    size: int
    """Records in the cluster, the representative included."""
    representative_id: str | None
    """The kept record's id (None for groups with no representative, such as ``prompt:``)."""
    example: str
    """The start of the representative's (or first member's) prompt, for reading."""


class Figures(BaseModel):
    """Each step's own figures, by step name; a step that did not run is left out."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    exact_dedup: OmitNone[ExactFigures] = None
    """Exact duplicates and same-prompt groups."""
    near_dedup: OmitNone[NearFigures] = None
    """Near duplicates (MinHash LSH)."""
    semantic_dedup: OmitNone[SemanticFigures] = None
    """Semantic duplicates (embeddings)."""
    quality: OmitNone[QualityFigures] = None
    """Quality heuristics."""
    pii: OmitNone[PIIFigures] = None
    """PII and secrets."""
    tool_calls: OmitNone[ToolCallFigures] = None
    """Tool calls and tool results."""
    leakage: OmitNone[LeakageFigures] = None
    """Train/eval leakage (with an eval set)."""
    contradictions: OmitNone[ContradictionsFigures] = None
    """Contradictions."""
    format: OmitNone[FormatFigures] = None
    """Format and tone profile."""
    volatile: OmitNone[VolatileFigures] = None
    """Volatile facts."""
    diversity: OmitNone[DiversityFigures] = None
    """Diversity."""


class CurationResult(BaseModel):
    """The outcome of ``curate.run``: counts, findings summarised, clusters, figures, config.

    ``kept`` is the curated set as a frame of records, in memory after a run and read back from
    ``curated.parquet`` for a result loaded from ``report.json``.
    """

    model_config = ConfigDict(frozen=True)
    _kept: Any = PrivateAttr(default=None)

    def attach_kept(self, frame: Any) -> None:
        """Hold the kept records (a frame of ``RECORD_SCHEMA``) with the result."""
        self._kept = frame

    @property
    def kept(self) -> Any:
        """The kept records as a Polars frame of ``RECORD_SCHEMA``."""
        if self._kept is None:
            from pathlib import Path

            from curate.io.read import read_dataset

            if self.out_dir is None:
                raise ValueError("this result was read back without its output folder")
            self._kept = read_dataset(Path(self.out_dir) / self.files["curated"]).records
        return self._kept

    tool_version: str
    """tunesmith's version."""
    run_id: str
    """Stable id of the run: a hash of the input's records and the config (reruns share it)."""
    input: str
    """What was curated: a path, a dataset id, or ``frame``."""
    dataset_id: str | None = None
    """The store's dataset id when the input was a stored dataset."""
    n_input_rows: int
    """Rows in the input: records plus rejected rows."""
    n_rejected: int
    """Rows the reader could not turn into records (see ``rejects.parquet``)."""
    n_records: int
    """Records that entered the pipeline."""
    n_kept: int
    """Records in ``curated.parquet``."""
    n_dropped: int
    """Records removed by a ``drop`` finding."""
    records_by_kind: dict[str, int] = Field(default_factory=dict)
    """Records by kind (``sft``, ``preference``, ``prompt``; KTO split into ``kto_desirable``
    and ``kto_undesirable``)."""
    kept_by_kind: dict[str, int] = Field(default_factory=dict)
    """Kept records by kind, split the same way."""
    rejected_by_reason: dict[str, int] = Field(default_factory=dict)
    """Rejected rows by the reader's reason code."""
    dropped_by_reason: dict[str, int] = Field(default_factory=dict)
    """Dropped records by the reason that removed them; sums to ``n_dropped``."""
    findings_by_check: dict[str, int] = Field(default_factory=dict)
    """All findings (any severity) by check."""
    findings_by_reason: dict[str, int] = Field(default_factory=dict)
    """All findings (any severity) by reason code."""
    findings_by_severity: dict[str, int] = Field(default_factory=dict)
    """All findings by severity after the config's overrides (drop / review / info)."""
    n_clusters: dict[str, int] = Field(default_factory=dict)
    """Number of clusters per cluster kind (``exact``, ``near``, ``semantic``, ``prompt``, …)."""
    clusters: list[ClusterSummary] = Field(default_factory=list)
    """The largest clusters (up to 50 per kind), biggest first, with an example each."""
    figures: Figures = Field(default_factory=Figures)
    """Each step's own figures (thresholds used, bands and rows, counts, …), by step name."""
    files: dict[str, str] = Field(default_factory=dict)
    """Output files by role (``curated``, ``findings``, ``rejects``, ``report``), relative to
    the output folder."""
    config: CurateConfig
    """The configuration the run used, defaults filled in."""
    verdict: ReadinessVerdict | None = None
    """The readiness verdict with its reasons and every threshold (``curate.audit.verdict``)."""
    timings: dict[str, float] = Field(default_factory=dict)
    """Seconds per step and in total. Not written to ``report.json`` (which must be
    byte-for-byte reproducible); kept in ``timings.json`` and in the store."""
    out_dir: str | None = None
    """Where the files were written. Not written to ``report.json`` either."""

    def report_json(self) -> str:
        """The deterministic ``report.json`` text: everything except timings and ``out_dir``."""
        return self.model_dump_json(indent=2, exclude={"timings", "out_dir"}) + "\n"
