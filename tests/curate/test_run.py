"""``curate.run``: counts add up, outputs are written and deterministic, the store records runs."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from curate import ConfigError, CurateConfig, NotFoundError, ingest, run

# Only the cheap checks: the steps that embed (semantic dedup, contradictions, diversity) are
# tested on their own, with one model load per session.
NO_SEMANTIC = CurateConfig(
    semantic={"enabled": False}, contradictions={"enabled": False}, diversity={"enabled": False}
)

ROWS = [
    ("What is 2 + 2?", "4."),
    ("what is 2 + 2", "4"),
    (
        "Write a sentence about cats that sleep in the warm afternoon sun.",
        "Cats love to sleep in the warm afternoon sun by the window.",
    ),
    (
        "Write a sentence about cats that sleep in the warm afternoon sun!",
        "Cats love to sleep in the warm afternoon sun by the big window.",
    ),
    ("Name a colour.", "Blue."),
    ("Name a colour.", "Green."),
    ("Unrelated: translate 'cat' to German.", "Katze."),
]


def test_counts_add_up_and_outputs_are_written(sft_frame, store, tmp_path):
    frame = sft_frame(ROWS)
    result = run(frame, NO_SEMANTIC, out_dir=tmp_path / "out", store=store)
    assert result.n_input_rows == result.n_kept + result.n_dropped + result.n_rejected == 7
    dedup = {k: v for k, v in result.dropped_by_reason.items() if k.endswith("duplicate")}
    assert dedup == {"exact_duplicate": 1, "near_duplicate": 1}
    assert sum(result.dropped_by_reason.values()) == result.n_dropped
    assert {k: result.n_clusters[k] for k in ("exact", "near")} == {"exact": 1, "near": 1}
    exact = next(c for c in result.clusters if c.check == "exact_dedup")
    assert exact.size == 2 and exact.example == "What is 2 + 2?"
    out = tmp_path / "out"
    curated = pl.read_parquet(out / "curated.parquet")
    assert len(curated) == result.n_kept and {"prompt", "completion"} <= set(curated.columns)
    findings = pl.read_parquet(out / "findings.parquet")
    assert len(findings) == sum(result.findings_by_check.values())
    same_prompt = findings.filter(pl.col("check") == "exact_dedup", pl.col("severity") == "info")
    assert sorted(same_prompt["row"].to_list()) == [2, 3, 4, 5]  # cats: "sun." vs "sun!"
    assert pl.read_parquet(out / "rejects.parquet").is_empty()
    report = json.loads((out / "report.json").read_text())
    assert report["n_kept"] == result.n_kept and "timings" not in report
    assert set(json.loads((out / "timings.json").read_text())) >= {"exact_dedup", "total"}


def test_reruns_are_byte_for_byte_identical(sft_frame, store, tmp_path):
    frame = sft_frame(ROWS)
    first = run(frame, NO_SEMANTIC, out_dir=tmp_path / "a", store=store)
    second = run(frame, NO_SEMANTIC, out_dir=tmp_path / "b", store=store)
    assert first.run_id == second.run_id
    for name in ("curated.parquet", "findings.parquet", "rejects.parquet", "report.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    # The rerun replaced the run in the store rather than adding a second copy.
    assert store.con.execute("SELECT count(*) FROM curation_runs").fetchone() == (1,)
    (n,) = store.con.execute(
        "SELECT count(*) FROM findings WHERE run_id = ?", [first.run_id]
    ).fetchone()
    assert n == sum(first.findings_by_check.values())
    stricter = NO_SEMANTIC.model_copy(
        update={"near": NO_SEMANTIC.near.model_copy(update={"threshold": 0.9})}
    )
    other = run(frame, stricter, out_dir=tmp_path / "c", store=store)
    assert other.run_id != first.run_id


def test_severity_override_keeps_near_duplicates_for_review(sft_frame, store, tmp_path):
    config = NO_SEMANTIC.model_copy(update={"severity": {"near_duplicate": "review"}})
    result = run(sft_frame(ROWS), config, out_dir=tmp_path / "o", store=store)
    assert "near_duplicate" not in result.dropped_by_reason
    assert result.dropped_by_reason["exact_duplicate"] == 1
    findings = pl.read_parquet(tmp_path / "o" / "findings.parquet")
    assert findings.filter(pl.col("reason") == "near_duplicate")["severity"].to_list() == ["review"]


def test_a_file_and_a_stored_dataset_give_the_same_counts(shared_data, store, tmp_path, home):
    rows = json.loads((shared_data / "alpaca_en_demo.json").read_text())[:300]
    rows += [*rows[:5], {"no": "fields"}]  # five exact copies and one unreadable row
    path = tmp_path / "slice.json"
    path.write_text(json.dumps(rows))
    result = run(path, NO_SEMANTIC, out_dir=tmp_path / "file", store=store)
    assert result.n_input_rows == 306 and result.n_rejected == 1
    assert result.n_kept + result.n_dropped + result.n_rejected == 306
    assert result.dropped_by_reason.get("exact_duplicate", 0) >= 5
    assert pl.read_parquet(tmp_path / "file" / "rejects.parquet").height == 1
    info = ingest(path, name="slice", store=store)
    stored = run("slice", NO_SEMANTIC, out_dir=tmp_path / "stored", store=store)
    assert stored.dataset_id == info.id
    assert (stored.n_kept, stored.dropped_by_reason) == (result.n_kept, result.dropped_by_reason)


def test_unknown_input_and_bad_config_are_clear_errors(store, tmp_path):
    with pytest.raises(NotFoundError, match="neither a file nor a dataset"):
        run("no-such-dataset", NO_SEMANTIC, store=store)
    bad = tmp_path / "bad.toml"
    bad.write_text("[near]\nthreshold = 2.0\n")
    with pytest.raises(ConfigError, match=r"near\.threshold"):
        CurateConfig.from_file(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"semantic": {"enabled": False}, "near": {"threshold": 0.8}}))
    assert CurateConfig.from_file(good).near.threshold == 0.8
    (tmp_path / "x.yaml").write_text("a: 1")
    with pytest.raises(ConfigError, match=r"toml or \.json"):
        CurateConfig.from_file(tmp_path / "x.yaml")


def test_default_out_dir_is_under_the_store(sft_frame, store):
    result = run(sft_frame(ROWS[:3]), NO_SEMANTIC, store=store)
    assert Path(result.out_dir) == store.root / "runs" / result.run_id
    assert (Path(result.out_dir) / "report.json").is_file()
