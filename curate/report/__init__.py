"""The audit report: a self-contained HTML page with charts, and a Markdown summary.

Both are rendered from the run folder's ``report.json`` (parsed into ``CurationResult``, its
contract) and ``findings.parquet``; ``write_report`` re-renders them at any time (``tunesmith report DIR``).
No file of the report quotes PII or a secret in clear: excerpts are masked the way the PII
step's evidence is (``curate.report.masking``).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from pydantic import ValidationError

from curate.errors import InputError
from curate.pipeline.result import CurationResult
from curate.report.fixlist import FIXLIST_NAME, rows_to_fix, write_fixlist
from curate.report.html import render_html
from curate.report.markdown import render_markdown
from curate.report.masking import Masker, mask_findings, mask_report, report_options

__all__ = [
    "mask_findings",
    "mask_report",
    "render_html",
    "render_markdown",
    "render_report",
    "write_report",
]

HTML_NAME = "report.html"
MD_NAME = "report.md"


def write_report(folder: str | Path) -> dict[str, Path]:
    """Render ``report.html``, ``report.md`` and ``rows_to_fix.csv`` (every row behind each
    failed verdict rule, in fix order) in a run folder from its ``report.json``.

    ``report.json`` and ``findings.parquet`` are first rewritten with their excerpts masked
    when a step left PII or a secret in clear in one (a contradiction pair, a quality span), so
    the folder as a whole never quotes one; a clean folder is not touched.

    Raises:
        InputError: the folder has no ``report.json``, or it is not a curation report.
    """
    folder = Path(folder)
    source = folder / "report.json"
    if not source.is_file():
        raise InputError(f"{folder}: no report.json here (is it a curation output folder?)")
    try:
        report = CurationResult.model_validate_json(source.read_text(encoding="utf-8"))
    except ValidationError as e:
        raise InputError(f"{source}: not a curation report: {e}") from e
    masker = Masker(report_options(report))
    masked = mask_report(report, masker)
    if masked is not report:
        report = masked
        source.write_text(report.report_json(), encoding="utf-8")
    findings_path = folder / "findings.parquet"
    findings = None
    if findings_path.is_file():
        found = pl.read_parquet(findings_path)
        findings = masker.findings(found)
        if findings is not found:
            findings.write_parquet(findings_path, statistics=False)  # as the run writes it
    curated_path = folder / "curated.parquet"
    records = None
    if curated_path.is_file():
        names = pl.read_parquet_schema(curated_path)
        wanted: list[str] = [c for c in ("id", "prompt", "completion", "chosen") if c in names]
        records = pl.read_parquet(curated_path, columns=wanted)
    return render_report(folder, report, findings, records, masker)


def render_report(
    folder: Path,
    report: CurationResult,
    findings: pl.DataFrame | None,
    records: pl.DataFrame | None,
    masker: Masker,
) -> dict[str, Path]:
    """Write the report's files from what ``write_report`` reads: a run calls it with its own
    masked report and findings, so it neither reads them back nor masks them twice.

    Args:
        folder: the run folder.
        report: the result, masked (``mask_report``).
        findings: the findings, masked (``Masker.findings``); None quotes no finding.
        records: the curated records (``id``, ``prompt``, ``completion``), to quote.
        masker: the masker that masked them, for the excerpts it quotes.
    """
    html, md = folder / HTML_NAME, folder / MD_NAME
    fix = rows_to_fix(report, findings)
    fixlist = write_fixlist(folder / FIXLIST_NAME, fix)
    html.write_text(render_html(report, findings, records, masker=masker, fix=fix), "utf-8")
    md.write_text(render_markdown(report, findings, fix=fix), encoding="utf-8")
    return {"html": html, "markdown": md, "fixlist": fixlist}
