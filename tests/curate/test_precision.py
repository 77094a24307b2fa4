"""Findings a reviewer can trust: few review flags on clean real data, planted defects found.

Clean sets: alpaca_en_demo.json (LLaMA-Factory's curated demo of GPT-4 Alpaca answers) and
dpo_en_demo.json (its preference demo). They are not spotless (a few answers cut off by the
generator's token limit, "As an AI" boilerplate, URLs the model cannot open): the bounds leave
room for those true findings and nothing like the old noise (19% and 14% of rows flagged, most
of it lists called format drift or "truncated"). Recall: defects planted into the same real
rows must be found. ``bench/precision.py`` measures the same before and after.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from curate.audit.format_profile import FormatProfile, profile, requested
from curate.io.read import read_dataset
from curate.pipeline.config import CurateConfig
from curate.pipeline.run import build_steps
from curate.pipeline.step import run_steps
from curate.records import text_of

CLEAN_BOUNDS = {"alpaca_en_demo.json": 0.08, "dpo_en_demo.json": 0.17}
"""Share of rows with a review finding each clean set must stay under (measured by
bench/precision.py: 0.062 and 0.150; under the old rules 0.141 and 0.147, and 0.192 and 0.137 on
the old code). dpo_en_demo's flags are mostly other checks' (length-ratio outliers of long chat
answers, "As an AI" boilerplate, answers cut off), not format or lists."""
PLANTS = 15
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


CONFIG = CurateConfig.model_validate(
    {  # the embedding steps are not what is measured here
        "semantic": {"enabled": False},
        "diversity": {"enabled": False},
        "volatile": {"enabled": False},
        "contradictions": {"semantic": False},
    }
)


def _outcome(records: pl.DataFrame):
    """The pipeline's steps and severities; the format step without an embedder (TF-IDF)."""
    steps = [FormatProfile(CONFIG.format) if s.name == "format" else s for s in build_steps(CONFIG)]
    return run_steps(records, steps, CONFIG.severity_overrides())


def _review_share(records: pl.DataFrame) -> float:
    found = _outcome(records).findings.filter(pl.col("severity") == "review")
    return found["record_id"].n_unique() / len(records)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CLEAN_BOUNDS))
def test_review_flag_share_on_clean_real_sets_stays_under_the_bound(shared_data, name):
    records = read_dataset(shared_data / name).records
    assert _review_share(records) < CLEAN_BOUNDS[name]


@pytest.fixture(scope="module")
def planted():
    """alpaca_en_demo.json with defects planted in long one-paragraph prose answers (a cut in
    a short last paragraph of under 25 words is not told from a complete one), and their ids."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    records = read_dataset(SHARED_DATA / "alpaca_en_demo.json").records
    rows = records.to_dicts()
    prose = [
        i
        for i, r in enumerate(rows)
        if profile(text_of(r["completion"])).format == "prose"
        and len(text_of(r["completion"]).split()) >= 60
        and "\n" not in text_of(r["completion"]).strip()
        and not requested(text_of(r["prompt"]))
    ][::2]
    truth: dict[str, list[str]] = {"truncated": [], "json": [], "twins": []}
    for n, i in enumerate(prose[: 3 * PLANTS]):
        words = text_of(rows[i]["completion"]).split()
        kind = ("truncated", "json", "twins")[n % 3]
        if kind == "truncated":  # cut mid-sentence, after a word that ends no clause
            cut = int(len(words) * 0.6)
            # not after punctuation, nor on "..., the" (read as a list of names by design)
            while words[cut - 1][-1] in ".!?:;," or words[cut - 2][-1] == ",":
                cut += 1
            new = " ".join(words[:cut])
        elif kind == "json":
            new = json.dumps({"answer": " ".join(words[:25])})
        else:  # a twin record: the same prompt and content, answered as JSON
            twin = {**rows[i], "id": rows[i]["id"] + "-json"}
            twin["completion"] = [
                {**rows[i]["completion"][0], "content": json.dumps({"answer": " ".join(words)})}
            ]
            rows.append(twin)
            truth[kind].append(rows[i]["id"])
            truth[kind].append(twin["id"])
            continue
        rows[i]["completion"] = [{**rows[i]["completion"][0], "content": new}]
        truth[kind].append(rows[i]["id"])
    return _outcome(pl.DataFrame(rows, schema=records.schema)).findings, truth


@pytest.mark.slow
def test_truncated_prose_planted_in_real_rows_is_found(planted):
    findings, truth = planted
    hit = set(findings.filter(pl.col("reason") == "truncated_answer")["record_id"])
    assert set(truth["truncated"]) <= hit


@pytest.mark.slow
def test_json_answers_among_prose_of_their_task_are_found(planted):
    findings, truth = planted
    hit = set(findings.filter(pl.col("reason") == "format_deviant")["record_id"])
    assert len(set(truth["json"]) & hit) >= PLANTS - 1  # at most one lands in a JSON-ish task


@pytest.mark.slow
def test_prose_and_json_twins_are_kept_and_reported_as_format_conflicts(planted):
    findings, truth = planted
    dropped = set(findings.filter(pl.col("severity") == "drop")["record_id"])
    conflicts = findings.filter(pl.col("reason") == "conflicting_format")
    assert not set(truth["twins"]) & dropped  # dedup merged neither side
    assert set(truth["twins"]) <= set(conflicts["record_id"])  # both sides reported
    sides = {
        json.loads(e)["pairs"][0]["span"]
        for e, i in zip(conflicts["evidence"], conflicts["record_id"], strict=True)
        if i in truth["twins"]
    }
    assert sides == {"prose", "json{answer}"}
