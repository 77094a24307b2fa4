"""The demo's synthesis stage on a few real GSM8K questions with SmolLM2: it reports its verified
counts, the pairs on disk are verified, and the teacher examples it trains on carry the habit."""

from __future__ import annotations

import json
import re

import pytest

from api.demo import DemoConfig, habit_pairs, synthesize_verified
from curate import Store, from_frame, get_generator, read_dataset
from curate.recipes.gsm8k_habit import FORMAT_CHECK, house_format
from curate.verify import get_verifier

pytestmark = pytest.mark.slow

QUESTIONS = 4


@pytest.fixture()
def curated(shared_data, tmp_path):
    """A few GSM8K questions in the house format, as the curated set holds them."""
    source = shared_data / "gsm8k_example_model_solutions.jsonl"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    rows = []
    for line in source.read_text().splitlines()[100:140]:
        row = json.loads(line)
        completion = house_format(row["ground_truth"])
        if completion is not None:
            rows.append({"prompt": row["question"], "completion": completion})
    path = tmp_path / "curated.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:QUESTIONS]))
    return path


def test_the_synthesis_stage_reports_its_verified_counts(curated, tmp_path, home, smollm2_path):
    config = DemoConfig(synth_records=QUESTIONS, synth_samples=2, synth_max_tokens=96)
    store = Store()
    try:
        generator = get_generator("transformers", smollm2_path, store=store, threads=1)
        reports: list[str] = []
        counts, teacher = synthesize_verified(
            curated, config, store, generator, tmp_path / "synth", reports
        )
    finally:
        store.close()
    assert counts["questions"] == QUESTIONS and len(reports) == 2
    pairs = [json.loads(x) for x in (tmp_path / "synth" / "negatives" / "records.jsonl").open()]
    assert counts["pairs"] == len(pairs)
    assert 0 <= counts["pairs_from_reference"] <= counts["pairs"]
    numeric = get_verifier("numeric")
    for pair in pairs:
        reference = json.loads(pair["meta"])["synth"]["reference"]
        assert numeric.verify(pair["chosen"][0]["content"], reference).passed
        assert not numeric.verify(pair["rejected"][0]["content"], reference).passed
    # what DPO trains on: the same pairs, both sides ending in the habit's line, still verified
    rows, pair_counts = habit_pairs(
        from_frame(read_dataset(tmp_path / "synth" / "negatives" / "records.jsonl").records)
    )
    assert pair_counts["pairs"] == len(rows) == len(pairs)
    for row, pair in zip(rows, pairs, strict=True):
        reference = json.loads(pair["meta"])["synth"]["reference"]
        chosen, rejected = row["chosen"][0]["content"], row["rejected"][0]["content"]
        assert re.search(FORMAT_CHECK["pattern"], chosen)
        assert numeric.verify(chosen, reference).passed
        assert not numeric.verify(rejected, reference).passed
    # every verified teacher answer is trained on, in the house format, with its verified number
    assert counts["teacher"] == len(teacher)
    for row in teacher:
        answer = row["completion"][0]["content"]
        assert re.search(FORMAT_CHECK["pattern"], answer)
    report = json.loads((tmp_path / "synth" / "teacher" / "report.json").read_text())
    assert report["n_kept"] == counts["teacher"]
