"""The audit report: a self-contained HTML page with charts, and a Markdown summary.

Both are rendered from the run folder's ``report.json`` (parsed into ``CurationResult``, its
contract) and ``findings.parquet``; ``write_report`` re-renders them at any time (``tunesmith report DIR``).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from pydantic import ValidationError

from curate.errors import InputError
from curate.pipeline.result import CurationResult
from curate.report.html import render_html
from curate.report.markdown import render_markdown

__all__ = ["render_html", "render_markdown", "write_report"]

HTML_NAME = "report.html"
MD_NAME = "report.md"


def write_report(folder: str | Path) -> dict[str, Path]:
    """Render ``report.html`` and ``report.md`` in a run folder from its ``report.json``.

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
    findings_path = folder / "findings.parquet"
    findings = pl.read_parquet(findings_path) if findings_path.is_file() else None
    curated_path = folder / "curated.parquet"
    records = None
    if curated_path.is_file():
        names = pl.read_parquet_schema(curated_path)
        wanted: list[str] = [c for c in ("id", "prompt", "completion", "chosen") if c in names]
        records = pl.read_parquet(curated_path, columns=wanted)
    html, md = folder / HTML_NAME, folder / MD_NAME
    html.write_text(render_html(report, findings, records), encoding="utf-8")
    md.write_text(render_markdown(report), encoding="utf-8")
    return {"html": html, "markdown": md}
