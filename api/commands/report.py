"""``tunesmith report DIR``: re-render a curation run's HTML and Markdown report."""

from __future__ import annotations

import click

import curate


@click.command("report")
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False))
@click.option("--markdown", "show_md", is_flag=True, help="Also print the Markdown summary.")
def report_cmd(folder: str, show_md: bool) -> None:
    """Re-render DIR/report.html, DIR/report.md and DIR/rows_to_fix.csv from DIR/report.json
    and its findings."""
    written = curate.write_report(folder)
    click.echo(f"wrote {written['html']}, {written['markdown']} and {written['fixlist']}")
    if show_md:
        click.echo(written["markdown"].read_text(encoding="utf-8"))
