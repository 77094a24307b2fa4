"""The audit report of real data: its sections, its Markdown, ``tunesmith report``, and the page
opened offline in a real headless Chromium with visible charts and no console errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import polars as pl
import pytest

from curate.records import Message, from_frame, to_frame

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHARTS = ("waterfall", "findings", "formats", "lengths", "clusters", "map", "templates")


@pytest.fixture(scope="module")
def audit_dir(shared_data, tmp_path_factory) -> Path:
    """One curation run over 160 real Alpaca records (semantic dedup off to save time)."""
    import curate
    from curate.store.store import Store

    records = curate.read_dataset(shared_data / "alpaca_random_9k.json").records.head(160)
    # plant a twin of the first prompt answered in JSON: a format contradiction to show
    first = from_frame(records.head(1))[0]
    twin = first.model_copy(
        update={
            "id": "f" * 16,
            "completion": [Message(role="assistant", content='{"answer": "something else"}')],
            "source": first.source.model_copy(update={"row": 160}),
        }
    )
    records = pl.concat([records, to_frame([twin])])
    base = tmp_path_factory.mktemp("audit")
    config = curate.CurateConfig.from_data({"semantic": {"enabled": False}})
    store = Store(base / "store.duckdb")
    try:
        curate.run(records, config, out_dir=base / "out", store=store)
    finally:
        store.close()
    return base / "out"


def test_report_files_hold_every_section_and_the_verdict(audit_dir):
    report = json.loads((audit_dir / "report.json").read_text())
    verdict = report["verdict"]
    # the planted conflict (2 of 161 records) is over the 1% contradiction threshold, and 161
    # records are under the 1,000 minimum: fixing comes first, and both reasons are given
    assert verdict["verdict"] == "fix data first"
    assert any(r.startswith("fix data first: contradiction share") for r in verdict["reasons"])
    assert any(r.startswith("too small / too narrow: records is 161") for r in verdict["reasons"])
    assert report["figures"]["contradictions"]["conflicting_pairs"] >= 1
    assert report["figures"]["diversity"]["embedding"]["sample"] == 161
    html = (audit_dir / "report.html").read_text()
    for anchor in (
        "summary",
        "counts",
        "duplicates",
        "contradictions",
        "format",
        "quality",
        "pii",
        "diversity",
        "volatile",
        "thresholds",
    ):
        assert f'id="{anchor}"' in html
    for chart in CHARTS:
        assert f'id="chart-{chart}"><svg' in html
    assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", html)  # nothing to fetch
    assert "<script" not in html
    md = (audit_dir / "report.md").read_text()
    assert "**Verdict: fix data first**" in md and "**Contradictions:**" in md


def test_report_command_re_renders(audit_dir, tmp_path):
    from click.testing import CliRunner

    from api.cli import cli

    copy = tmp_path / "run"
    shutil.copytree(audit_dir, copy)
    (copy / "report.html").unlink()
    result = CliRunner().invoke(cli, ["report", str(copy), "--markdown"])
    assert result.exit_code == 0, result.output
    assert (copy / "report.html").read_text() == (audit_dir / "report.html").read_text()
    assert "Verdict:" in result.output
    missing = CliRunner().invoke(cli, ["report", str(tmp_path / "nothing")])
    assert missing.exit_code != 0


@pytest.mark.browser
@pytest.mark.slow
def test_report_opens_offline_in_headless_chromium_with_visible_charts(audit_dir, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium); `make browser`")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    errors: list[str] = []
    outside: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            def block(route):
                if not route.request.url.startswith(("file://", "data:")):
                    outside.append(route.request.url)
                    return route.abort()
                return route.continue_()

            page.route("**/*", block)
            page.goto((audit_dir / "report.html").as_uri(), wait_until="load")
            for chart in CHARTS:
                svg = page.locator(f"#chart-{chart} svg")
                svg.scroll_into_view_if_needed()
                assert svg.is_visible(), chart
                box = svg.bounding_box()
                assert box and box["width"] > 200 and box["height"] > 80, (chart, box)
            verdict = page.locator("#summary .verdict")
            assert verdict.inner_text() == "fix data first"
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert errors == [] and outside == []
    assert shot.stat().st_size > 20_000
