"""``curate.run``: the one entry point of curation. The CLI and the API call it.

It reads the input (a file, a stored dataset, or a frame of records), builds the step list from
the config, runs it through ``curate.pipeline.step.run_steps``, writes the outputs and records the run
in the store. Outputs in ``out_dir``:

- ``curated.parquet``: the kept records in TRL's format (``curate.write_records``);
- ``findings.parquet``: every finding (``FINDING_SCHEMA``), in step order then row order;
- ``rejects.parquet``: rows the reader could not read (``REJECT_SCHEMA``);
- ``report.json``: the ``CurationResult`` without timings;
- ``timings.json``: seconds per step.

Off a terminal (CI, nohup, the job worker) each step logs one line when it starts and one when
it ends, with its seconds and records/s, and third-party warnings and bars stay out of the
output (``curate.pipeline.progress``).

Reruns with the same input and config write the same four data files byte for byte: nothing in
them depends on the clock, the run id is a hash of the input's records and the config, and
timings (which do vary) are kept apart in ``timings.json`` and the store.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from curate.audit.contradictions import Contradictions
from curate.audit.diversity import Diversity
from curate.audit.format_profile import FormatProfile
from curate.audit.verdict import decide
from curate.audit.volatile import VolatileFacts
from curate.checks.leakage import LeakageCheck
from curate.checks.pii import PIICheck, redact_frame
from curate.checks.quality import QualityCheck
from curate.checks.tool_calls import ToolCallCheck
from curate.dedup.exact import ExactDedup
from curate.dedup.near import NearDedup
from curate.dedup.semantic import SemanticDedup
from curate.errors import NotFoundError
from curate.executors.executor import open_executor
from curate.io.eval_items import load_eval_set
from curate.models.embed import Embedder
from curate.pipeline.config import CurateConfig
from curate.pipeline.progress import StepTimer, off_terminal
from curate.pipeline.result import CurationResult, Figures
from curate.pipeline.step import FINDING_SCHEMA, Step, StepResult, run_steps
from curate.pipeline.summary import cluster_summaries, counts_by, dropped_by_reason, kind_counts
from curate.records import RECORD_SCHEMA, REJECT_SCHEMA
from curate.report.masking import Masker, mask_report
from curate.store.store import Store

Progress = Callable[[str, int, int], None]
"""Called with (stage, done, total): the step about to run, or ``embedding`` progress."""

FILES = {
    "curated": "curated.parquet",
    "findings": "findings.parquet",
    "rejects": "rejects.parquet",
    "report": "report.json",
    "html": "report.html",
    "markdown": "report.md",
    "fixlist": "rows_to_fix.csv",
    "timings": "timings.json",
}


@dataclass
class Loaded:
    """The input resolved to records and rejects."""

    records: pl.DataFrame
    rejects: pl.DataFrame
    label: str
    dataset_id: str | None = None
    n_rows: int | None = None
    """Rows in the source, where one row can hold several records (a message tree)."""

    @property
    def rows(self) -> int:
        """Rows in the input: the source's count, else records plus rejects."""
        return self.n_rows if self.n_rows is not None else len(self.records) + len(self.rejects)


def build_steps(
    config: CurateConfig,
    *,
    store: Store | None = None,
    eval_records: pl.DataFrame | None = None,
    progress: Progress | None = None,
) -> list[Step]:
    """The pipeline the config selects, in order: cheap exact checks first, so later (costlier)
    steps see fewer records."""
    embed_progress = (lambda done, total: progress("embedding", done, total)) if progress else None
    # One embedder for the run: every step that embeds shares its memory and the store's cache,
    # so each distinct text is embedded once (and the Ray executor can move it to actors).
    embed = Embedder(
        config.semantic.model,
        store,
        batch_size=config.semantic.batch_size,
        max_tokens=config.semantic.max_tokens,
        progress=embed_progress,
    )
    steps: list[Step] = []
    if config.exact.enabled:
        steps.append(ExactDedup(config.exact))
    if config.near.enabled:
        steps.append(NearDedup(config.near))
    if config.semantic.enabled:
        steps.append(SemanticDedup(config.semantic, embed=embed))
    if config.quality.enabled:
        steps.append(QualityCheck(config.quality))
    if config.pii.enabled:
        steps.append(PIICheck(config.pii))
    if config.tool_calls.enabled:
        steps.append(ToolCallCheck(config.tool_calls))
    if config.leakage.enabled and eval_records is not None:
        steps.append(LeakageCheck(eval_records, config.leakage))
    steps += _audit_steps(config, store, embed)
    # -- the other checks append their steps here (quality, pii, leakage with eval_records,
    # -- contradictions, format, diversity), one `if config.<section>.enabled:` each. ---------
    return steps


def _audit_steps(config: CurateConfig, store: Store | None, embed: Embedder) -> list[Step]:
    """Contradictions, format, volatile facts and diversity: they annotate, never drop (unless
    configured), so they run last, on the records the dedup and quality steps kept. ``embed`` is
    the run's shared embedder (``semantic.model``): the steps that embed call it."""
    steps: list[Step] = []
    if config.contradictions.enabled:
        judge = config.contradictions.judge
        generator = None
        if judge.backend:
            from curate.models.backends import get_generator

            generator = get_generator(judge.backend, judge.model, store=store)
        steps.append(Contradictions(config.contradictions, embed=embed, generator=generator))
    if config.format.enabled:
        steps.append(FormatProfile(config.format, embed=embed))
    if config.volatile.enabled:
        steps.append(VolatileFacts(config.volatile))
    if config.diversity.enabled:
        steps.append(Diversity(config.diversity, embed=embed))
    return steps


def run(
    dataset_or_path: Any,
    config: CurateConfig | None = None,
    *,
    out_dir: str | Path | None = None,
    eval_set: str | Path | pl.DataFrame | None = None,
    store: Store | None = None,
    progress: Progress | None = None,
) -> CurationResult:
    """Curate a dataset: run the configured checks, write the outputs, record the run.

    Args:
        dataset_or_path: a dataset file, a ``save_to_disk`` folder, a folder or URL of shards,
            the id or name of a dataset in the store, a frame of ``RECORD_SCHEMA``, or raw rows
            in memory (a pandas or polars DataFrame, a Hugging Face ``Dataset``, a list of
            dicts).
        config: the pipeline's configuration (defaults: exact, near and semantic dedup on).
        out_dir: where to write the outputs; default ``<store root>/runs/<run id>``.
        eval_set: an eval set (file, stored dataset or frame) for the leakage check.
        store: the store to use (embedding cache, run records); default: ``Store()``.
        progress: called before each step with (step name, index, number of steps).

    Returns:
        The ``CurationResult`` (also written to ``report.json``).

    Raises:
        InputError: the input is neither a file, a stored dataset nor a frame of records.
        NotFoundError: a dataset reference names nothing in the store.
    """
    config = config or CurateConfig()
    owned = store is None
    store = store or Store()
    try:
        # off a terminal, one log line per step on stderr and no third-party noise
        with off_terminal():
            return _run(dataset_or_path, config, out_dir, eval_set, store, progress)
    finally:
        if owned:
            store.close()


def _run(
    source: Any,
    config: CurateConfig,
    out_dir: str | Path | None,
    eval_set: str | Path | pl.DataFrame | None,
    store: Store,
    progress: Progress | None,
) -> CurationResult:
    started = time.perf_counter()
    loaded = load_input(source, store)
    eval_records = load_eval_set(eval_set, store) if eval_set is not None else None
    run_id = _run_id(loaded, config, eval_records)
    steps = build_steps(config, store=store, eval_records=eval_records, progress=progress)
    # The executor (local, or ray: distributed, resumable) changes where steps run, not results.
    with open_executor(config.executor, store.root / "work", run_id) as executor:
        placed = executor.steps(steps)
        announced = [_Announced(s, i, len(steps), progress) for i, s in enumerate(placed)]
        outcome = run_steps(loaded.records, announced, config.severity_overrides())
    names = [s.name for s in steps]
    kept, findings = outcome.kept, _ordered(outcome.findings, names)
    timings = {**outcome.timings}
    figures = Figures.model_validate(outcome.figures)
    # What the writing needs is taken: let go of the rest before it starts. The steps hold the
    # run's embedder, which remembers every vector (1.2 million of them at a million records),
    # and the outcome the findings unordered (a second copy of them).
    del steps, placed, announced, outcome
    if figures.pii is not None and config.pii.action == "redact":
        redact_start = time.perf_counter()
        kept, redacted = redact_frame(kept, config.pii)
        pii = figures.pii.model_copy(update={"redacted_spans": redacted})
        figures = figures.model_copy(update={"pii": pii})
        timings["pii_redact"] = round(time.perf_counter() - redact_start, 4)

    folder = Path(out_dir) if out_dir else store.root / "runs" / run_id
    result = CurationResult(
        tool_version=_version(),
        run_id=run_id,
        input=loaded.label,
        dataset_id=loaded.dataset_id,
        n_input_rows=loaded.rows,
        n_rejected=len(loaded.rejects),
        n_records=len(loaded.records),
        n_kept=len(kept),
        n_dropped=len(loaded.records) - len(kept),
        records_by_kind=kind_counts(loaded.records),
        kept_by_kind=kind_counts(kept),
        rejected_by_reason=counts_by(loaded.rejects, "reason"),
        dropped_by_reason=dropped_by_reason(findings),
        findings_by_check=counts_by(findings, "check"),
        findings_by_reason=counts_by(findings, "reason"),
        findings_by_severity=counts_by(findings, "severity"),
        **cluster_summaries(findings, loaded.records),
        figures=figures,
        files={k: v for k, v in FILES.items() if k != "timings"},
        config=config,
        timings=timings,
        out_dir=str(folder),
    )
    result = result.model_copy(update={"verdict": decide(result, config.verdict)})
    rejects = loaded.rejects
    del loaded  # the input's records are summarised: the files need only the kept ones
    # what a run returns and records quotes no secret in clear, as its report does not
    masker = Masker(config.pii.options())
    result = mask_report(result, masker)
    findings = masker.findings(findings)
    _write(folder, kept, findings, rejects, result, masker)
    timings["total"] = round(time.perf_counter() - started, 4)
    result = result.model_copy(update={"timings": timings})
    result.attach_kept(kept)
    (folder / FILES["timings"]).write_text(json.dumps(timings, indent=2) + "\n")
    _record(store, result, findings)
    if progress:
        progress("done", len(names), len(names))
    return result


class _Announced:
    """A step wrapped to report progress before it runs and to log its start and end (same
    name, same result)."""

    def __init__(self, step: Step, index: int, total: int, progress: Progress | None) -> None:
        self.step, self.index, self.total, self.progress = step, index, total, progress
        self.name = step.name

    def run(self, records: pl.DataFrame) -> StepResult[Any]:
        if self.progress:
            self.progress(self.name, self.index, self.total)
        timer = StepTimer(self.name, self.index, self.total, len(records))
        result = self.step.run(records)
        timer.done()
        return result


# -- input -------------------------------------------------------------------------------------


def load_input(source: Any, store: Store) -> Loaded:
    """Resolve the input to records and rejects: a file, a ``save_to_disk`` folder, a folder or
    URL of shards, a stored dataset's id or name, a frame of records (``RECORD_SCHEMA``), or raw
    rows in memory (a pandas or polars DataFrame, a Hugging Face ``Dataset``, a list of dicts),
    which go through the same row pipeline as a file.

    Raises:
        InputError: an unreadable file, or an object that holds no rows.
        NotFoundError: neither an existing file or folder nor a dataset in the store.
    """
    if isinstance(source, pl.DataFrame) and all(c in source.columns for c in _RECORD_CORE):
        frame = source.with_columns(
            [
                pl.lit(None, dtype=t).alias(c)
                for c, t in RECORD_SCHEMA.items()
                if c not in source.columns
            ]
        )
        return Loaded(
            frame.select(list(RECORD_SCHEMA)), pl.DataFrame(schema=REJECT_SCHEMA), "frame"
        )
    if not isinstance(source, str | Path):
        from curate.io.read import read_rows

        converted = read_rows(source, "frame")
        return Loaded(converted.records, converted.rejects, "frame", n_rows=converted.n_rows)
    path = Path(source)
    if path.exists() or "://" in str(source):
        from curate.io.ingest import read_source

        read = read_source(source)
        return Loaded(read.records, read.rejects, str(source), n_rows=read.n_rows)
    info = store.find_dataset(str(source))
    if info is None:
        raise NotFoundError(f"{source}: neither a file nor a dataset id or name in the store")
    return Loaded(store.records(info.id), store.rejects(info.id), str(source), info.id)


_RECORD_CORE = ("id", "kind", "prompt", "source_file", "row", "meta")
"""The columns that make a frame a frame of records (older frames lack the newer columns)."""


def _run_id(loaded: Loaded, config: CurateConfig, eval_records: pl.DataFrame | None) -> str:
    digest = hashlib.sha256()
    for part in (loaded.label, config.model_dump_json(), str(len(loaded.rejects))):
        digest.update(part.encode() + b"\0")
    for frame in (loaded.records, eval_records):
        if frame is not None:
            digest.update("\n".join(frame["id"].to_list()).encode() + b"\0")
    return digest.hexdigest()[:16]


# -- output ------------------------------------------------------------------------------------


def _ordered(findings: pl.DataFrame, step_names: list[str]) -> pl.DataFrame:
    """Findings in step order, then by row and record id: a stable order for the files."""
    rank = {name: i for i, name in enumerate(step_names)}
    return (
        findings.with_columns(pl.col("check").replace_strict(rank, default=len(rank)).alias("_s"))
        .sort(["_s", "row", "record_id", "reason"], nulls_last=True, maintain_order=True)
        .drop("_s")
        .cast(FINDING_SCHEMA)  # type: ignore[arg-type]
    )


def _write(
    folder: Path,
    kept: pl.DataFrame,
    findings: pl.DataFrame,
    rejects: pl.DataFrame,
    result: CurationResult,
    masker: Masker,
) -> None:
    from curate.io.writers import write_records
    from curate.report import render_report

    folder.mkdir(parents=True, exist_ok=True)
    write_records(kept, folder / FILES["curated"])
    findings.write_parquet(folder / FILES["findings"], statistics=False)
    rejects.select(list(REJECT_SCHEMA)).write_parquet(folder / FILES["rejects"], statistics=False)
    (folder / FILES["report"]).write_text(result.report_json(), encoding="utf-8")
    # report.html, report.md and rows_to_fix.csv, from what report.json and findings hold: the
    # same as `tunesmith report DIR` renders, without reading them back or masking them again
    quoted = kept.select(c for c in ("id", "prompt", "completion", "chosen") if c in kept.columns)
    render_report(folder, result, findings, quoted, masker)


def _record(store: Store, result: CurationResult, findings: pl.DataFrame) -> None:
    """The run and its findings in the store; a rerun with the same id replaces them."""
    table = findings.select(pl.lit(result.run_id).alias("run_id"), *FINDING_SCHEMA).to_arrow()
    with store.transaction() as con:
        con.execute("DELETE FROM findings WHERE run_id = ?", [result.run_id])
        con.execute("DELETE FROM curation_runs WHERE id = ?", [result.run_id])
        con.execute(
            "INSERT INTO curation_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                result.run_id,
                result.dataset_id,
                result.input,
                result.out_dir,
                result.config.model_dump_json(),
                result.model_dump_json(),
                datetime.now(UTC).replace(tzinfo=None),
            ],
        )
        con.register("_findings", table)
        con.execute("INSERT INTO findings SELECT * FROM _findings")
        con.unregister("_findings")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tunesmith")
    except PackageNotFoundError:
        return "0+unknown"
