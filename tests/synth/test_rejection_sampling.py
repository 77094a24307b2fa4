"""Rejection sampling with verifiers, with a scripted generator (pure logic: the pairing rule,
the fallback to the reference, drop reasons, pass@k, the report, the cache on rerun)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from curate.models.backends import CachedGenerator
from curate.models.generation import Generation
from curate.records import Message, Record, Source, to_frame
from curate.synth import SynthConfig, synthesize
from curate.synth.negatives import CORRECTION_JOINER, VERIFIED_CORRECTION
from curate.verify import get_verifier


def rec(row: int, question: str, answer: str, **meta) -> Record:
    return Record(
        id=f"q{row}",
        kind="sft",
        prompt=[Message(role="user", content=question)],
        completion=[Message(role="assistant", content=answer)],
        source=Source(file="math.jsonl", row=row),
        meta=meta,
    )


# Per question, the answers for seeds 0, 1, 2, 3 (None: cut off at max_tokens).
SCRIPT: dict[str, list[str | None]] = {
    # Two correct (the shorter wins), one wrong, one wrong twice (a duplicate).
    "How many legs do 3 cats have?": [
        "Each cat has 4 legs, so 3 * 4 = 12 legs in all. #### 12",
        "3 * 4 = 12. #### 12",
        "Cats have 2 legs each: #### 6",
        "Cats have 2 legs each: #### 6",
    ],
    # None correct: the reference is the chosen side; one has no number, one is cut off.
    "What is 7 + 8?": ["7 + 8 = 16. #### 16", "I am not sure.", None, "It is 14."],
    # All correct: nothing to contrast.
    "What is 2 + 2?": ["#### 4", "2 + 2 = 4", "The answer is 4.", "4"],
    # meta.verify names the reference: 10, not the record's own answer.
    "Ten in digits?": ["10", "#### 11", "ten", "#### 10"],
    # Every sample cut off: nothing reached the verifier.
    "Count to a million?": [None, None, None, None],
}


class Scripted:
    """Answers from ``SCRIPT`` by question and seed; counts what it was asked."""

    backend = "scripted"
    model = "student"

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, chats, params, adapter=None):
        self.calls += len(chats)
        out = []
        for chat in chats:
            text = SCRIPT[chat[-1].content.strip()][params.seed]  # teacher adds a newline
            if text is None:
                out.append(
                    Generation(text="Let me think step by step about", finish_reason="length")
                )
            else:
                out.append(Generation(text=text, finish_reason="stop"))
        return out


SET = to_frame(
    [
        rec(0, "How many legs do 3 cats have?", "3 cats have 3 * 4 = 12 legs.\nA: 12"),
        rec(1, "What is 7 + 8?", "7 + 8 = 15\nA: 15"),
        rec(2, "What is 2 + 2?", "2 + 2 = 4\nA: 4"),
        rec(3, "Ten in digits?", "ten", verify={"verifier": "numeric", "reference": 10}),
        rec(4, "Name a colour.", "Blue."),  # no number: no reference
    ]
)

CONFIG = SynthConfig(verifier="numeric", samples=4, pairs_per_prompt=2, curation=False)


def rows_by_id(report) -> dict[str, dict]:
    return {r.source_id: r.model_dump() for r in report.sampling.per_prompt}


def test_negatives_pair_the_shortest_correct_sample_with_each_distinct_wrong_one(store, tmp_path):
    result = synthesize(
        "negatives", SET, CONFIG, store=store, generator=Scripted(), out_dir=tmp_path
    )
    pairs = result.records.to_dicts()
    by_source: dict[str, list[dict]] = {}
    for p in pairs:
        by_source.setdefault(json.loads(p["meta"])["synth"]["source_id"], []).append(p)
    assert sorted(by_source) == ["q0", "q1", "q3"]
    # q0: the shorter of the two correct samples is chosen; the duplicate wrong one is dropped.
    (cats,) = by_source["q0"]
    assert cats["chosen"][0]["content"] == "3 * 4 = 12. #### 12"
    assert cats["rejected"][0]["content"] == "Cats have 2 legs each: #### 6"
    # q1: no sample passed, so the chosen side is the record's own answer, in the set's format.
    assert {p["chosen"][0]["content"] for p in by_source["q1"]} == {"7 + 8 = 15\nA: 15"}
    assert [p["rejected"][0]["content"] for p in by_source["q1"]] == [
        "7 + 8 = 16. #### 16",
        "It is 14.",
    ]
    # q3: meta.verify's reference (10) decides, not the record's own answer ("ten").
    (ten,) = by_source["q3"]
    assert ten["chosen"][0]["content"] == "10" and ten["rejected"][0]["content"] == "#### 11"
    numeric = get_verifier("numeric")
    for p in pairs:
        synth = json.loads(p["meta"])["synth"]
        assert numeric.verify(p["chosen"][0]["content"], synth["reference"]).passed
        assert not numeric.verify(p["rejected"][0]["content"], synth["reference"]).passed
        assert synth["verifier"] == "numeric" and synth["reason"] == "wrong_answer"
        assert synth["samples"] == 4 and isinstance(synth["sample"], int)
    q1 = json.loads(by_source["q1"][0]["meta"])["synth"]
    assert q1["chosen_sample"] is None and q1["passed"] == 0 and q1["pass_at_k"] is False


def test_every_sample_has_a_fate_and_the_report_has_pass_at_k_and_length_bias(store, tmp_path):
    result = synthesize(
        "negatives", SET, CONFIG, store=store, generator=Scripted(), out_dir=tmp_path
    )
    report = result.report
    rows = rows_by_id(report)
    assert rows["q0"]["fates"] == ["correct_not_chosen", "chosen", "rejected", "duplicate_sample"]
    assert rows["q1"]["fates"] == ["rejected", "no_answer", "truncated_generation", "rejected"]
    # q2: all four correct; the shortest ("4") has nothing to be contrasted with.
    assert rows["q2"]["fates"] == ["correct_not_chosen"] * 3 + ["no_wrong_sample"]
    assert rows["q2"]["outcome"] == "no_wrong_sample"
    assert rows["q4"] == {
        "source_id": "q4",
        "passed": 0,
        "pass_at_k": False,
        "outcome": "no_reference",
        "fates": [],
    }
    s = report.sampling
    assert (s.prompts, s.samples, s.pass_at_k) == (4, 4, 0.75)  # q0, q2, q3 have a pass
    assert s.pass_at_1 == round((2 / 4 + 0 + 4 / 4 + 2 / 4) / 4, 4)
    assert s.outcomes == {"kept": 3, "no_reference": 1, "no_wrong_sample": 1}
    assert report.n_kept == 4 and s.pairs_per_prompt == 1.0
    # Only q1's reference "7 + 8 = 15\nA: 15" is longer than its rejected "It is 14.".
    assert s.chosen_from_reference == 2 and s.chosen_longer == 0.25
    assert s.mean_rejected_chars == round((29 + 19 + 9 + 7) / 4, 1)
    assert report.n_generated == 16 and report.verification is None
    assert report.dropped == {
        "correct_not_chosen": 5,
        "duplicate_sample": 1,
        "no_answer": 2,
        "no_reference": 1,
        "no_wrong_sample": 1,
        "truncated_generation": 1,
    }
    dropped = (tmp_path / "dropped.jsonl").read_text().splitlines()
    assert len(dropped) == sum(report.dropped.values())
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["sampling"]["per_prompt"][0]["fates"]


def test_corrections_follow_a_real_wrong_sample_with_the_chosen_answer(store):
    result = synthesize("negatives", SET, CONFIG, store=store, generator=Scripted())
    fixes = result.corrections.to_dicts()
    assert len(fixes) == result.report.n_corrections == 4
    texts = {f["completion"][0]["content"] for f in fixes}
    assert (
        "Cats have 2 legs each: #### 6"
        + CORRECTION_JOINER.format(correction=VERIFIED_CORRECTION, answer="3 * 4 = 12. #### 12")
        in texts
    )
    assert all(json.loads(f["meta"])["synth"]["task"] == "correction" for f in fixes)


def test_teacher_keeps_the_shortest_verified_sample_and_drops_prompts_with_none(store):
    config = CONFIG.model_copy(update={"teacher_select": "all"})
    result = synthesize("teacher", SET, config, store=store, generator=Scripted())
    kept = {
        json.loads(r["meta"])["synth"]["source_id"]: r["completion"][0]["content"]
        for r in result.records.to_dicts()
    }
    assert kept == {"q0": "3 * 4 = 12. #### 12", "q2": "4", "q3": "10"}
    rows = rows_by_id(result.report)
    assert rows["q1"]["outcome"] == "no_verified_sample"
    assert rows["q1"]["fates"] == [
        "verified_wrong",
        "no_answer",
        "truncated_generation",
        "verified_wrong",
    ]
    assert rows["q2"]["fates"] == ["correct_not_chosen"] * 3 + ["teacher"]
    # q0's one distinct wrong sample, q1's two, q3's "#### 11" ("ten" has no number).
    assert result.report.dropped["verified_wrong"] == 1 + 2 + 1


def test_a_rerun_asks_the_model_nothing(store):
    scripted = Scripted()
    first = synthesize(
        "negatives", SET, CONFIG, store=store, generator=CachedGenerator(scripted, store)
    )
    asked = scripted.calls
    assert asked == 16  # 4 prompts with a reference, 4 seeds each
    again = synthesize(
        "negatives", SET, CONFIG, store=store, generator=CachedGenerator(scripted, store)
    )
    assert scripted.calls == asked
    assert again.report.cache == {"hits": 16, "misses": 0}
    assert again.records.equals(first.records)


def test_samples_need_a_verifier_and_sampling():
    with pytest.raises(ValidationError, match="needs a verifier"):
        SynthConfig(samples=3)
    with pytest.raises(ValidationError, match="temperature > 0"):
        SynthConfig(samples=3, verifier="numeric", temperature=0)
    with pytest.raises(ValidationError, match="unknown verifier"):
        SynthConfig(verifier="numerics")
    assert SynthConfig().verifier is None and SynthConfig().samples == 1


def test_the_cli_and_the_rest_job_take_samples_and_the_verifier():
    from click.testing import CliRunner

    from api.cli import cli
    from api.commands.synth import _config
    from api.jobs.runners.synthesize import SynthesizeJob

    for task in ("teacher", "negatives"):
        help_text = CliRunner().invoke(cli, ["synth", task, "--help"]).output
        assert "--samples" in help_text and "--verifier" in help_text
    config = _config(None, {"samples": 3, "verifier": "numeric", "seed": None})
    assert (config.samples, config.verifier) == (3, "numeric")
    job = SynthesizeJob(
        type="synthesize",
        task="negatives",
        dataset_id="d1",
        config={"samples": 3, "verifier": "numeric"},
    )
    assert (job.config.samples, job.config.verifier) == (3, "numeric")
    with pytest.raises(ValidationError, match="unknown verifier"):
        SynthesizeJob(
            type="synthesize", task="negatives", dataset_id="d1", config={"verifier": "judge"}
        )


def test_screening_does_not_call_a_pair_a_copy_of_the_row_it_was_built_on():
    from curate.synth.common import new_record
    from curate.synth.screen import screen

    question = (
        "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes "
        "muffins for her friends every day with four. She sells the remainder at the market "
        "daily for $2 per fresh duck egg. How much in dollars does she make every day?"
    )
    row = rec(0, question, "She sells 16 - 3 - 4 = 9 eggs a day.\nShe makes 9 * 2 = $18.\nA: 18")
    pair = new_record(
        row, chosen=row.completion, rejected="It is 26.", synth={"source_id": "q0", "sample": 0}
    )
    kept, drops = screen([pair], to_frame([row]), SynthConfig(), quality_side="rejected")
    assert kept == [pair] and drops == []


def test_a_prompt_whose_samples_were_all_cut_off_has_no_usable_sample(store):
    only = to_frame([rec(9, "Count to a million?", "#### 1000000")])
    result = synthesize("negatives", only, CONFIG, store=store, generator=Scripted())
    (row,) = result.report.sampling.per_prompt
    assert row.outcome == "no_usable_sample" and row.fates == ["truncated_generation"] * 4
    assert result.report.n_kept == 0 and result.report.dropped == {"truncated_generation": 4}
