"""The rows behind a failed verdict rule: the whole list in rows_to_fix.csv, the first SHOWN on
the page, every row number in report.md."""

from __future__ import annotations

import random
import re

import polars as pl

from curate import CurateConfig, Store, run
from curate.report.fixlist import FIXLIST_COLUMNS, FIXLIST_NAME, SHOWN

# The report is under test, not dedup: near and semantic dedup would merge these synthetic
# prompts, and the steps that embed are tested on their own.
CHEAP = CurateConfig(
    near={"enabled": False},
    semantic={"enabled": False},
    contradictions={"enabled": False},
    diversity={"enabled": False},
)


def test_a_long_fix_list_is_whole_in_the_csv_and_cut_on_the_page(tmp_path):
    rng = random.Random(7)
    words = [f"{a}{b}" for a in ("red", "blue", "tall", "warm", "odd") for b in range(60)]
    n = SHOWN + 300
    rows = [
        {
            "instruction": " ".join(rng.choice(words) for _ in range(12)) + f" ({i})?",
            "output": "N/A",
        }
        for i in range(n)
    ]
    result = run(rows, CHEAP, out_dir=tmp_path, store=Store(tmp_path / "store.duckdb"))
    assert result.verdict is not None and result.verdict.verdict == "fix data first"

    fixlist = pl.read_csv(tmp_path / FIXLIST_NAME)
    assert tuple(fixlist.columns) == FIXLIST_COLUMNS
    quality = fixlist.filter(pl.col("rule") == "max_quality_share")
    findings = pl.read_parquet(tmp_path / "findings.parquet").filter(pl.col("check") == "quality")
    assert quality.height == findings.height > SHOWN  # every finding of the rule, none left out
    assert quality["order"].to_list() == list(range(1, quality.height + 1))
    assert set(quality["row"]) == set(findings["row"])
    assert quality["reason"][0] == "placeholder_answer"  # a defect before the input notes

    page = (tmp_path / "report.html").read_text()
    fix = page[page.index('<section id="fix">') :]
    fix = fix[: fix.index("</section>")]
    assert f"The first {SHOWN:,} of {quality.height:,} in fix order" in fix
    assert FIXLIST_NAME in fix
    assert fix.count("<tr>") - fix.count("<tr><th") == SHOWN  # quoted rows, headers aside

    md = (tmp_path / "report.md").read_text()
    named = {
        int(r)
        for line in md.splitlines()
        if "): rows " in line
        for r in re.findall(r"\d+", line.split("rows ", 1)[1])
    }
    assert set(findings["row"]) <= named


def test_a_short_fix_list_is_quoted_whole_and_a_clean_run_writes_the_header(tmp_path):
    store = Store(tmp_path / "store.duckdb")
    rows = [{"instruction": f"Name prime number {i}.", "output": "N/A"} for i in range(40)]
    run(rows, CHEAP, out_dir=tmp_path / "short", store=store)
    page = (tmp_path / "short" / "report.html").read_text()
    fix = page[page.index('<section id="fix">') :]
    assert "The first" not in fix[: fix.index("</section>")]
    listed = pl.read_csv(tmp_path / "short" / FIXLIST_NAME)
    assert listed.filter(pl.col("rule") == "max_quality_share").height >= 40

    clean = [{"instruction": "What is 2 + 2?", "output": "4."}]
    run(clean, CHEAP, out_dir=tmp_path / "clean", store=store)
    header = (tmp_path / "clean" / FIXLIST_NAME).read_text().splitlines()
    assert header[0] == ",".join(FIXLIST_COLUMNS)
