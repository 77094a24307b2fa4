"""Train/eval leakage: n-gram overlap (with the short-item rule and template filter), near-duplicate
prompts, the eval-set readers, the check inside ``curate.run``, and real overlapping datasets."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from curate.checks.leakage import LeakageCheck, LeakageConfig
from curate.errors import InputError
from curate.io.eval_items import load_eval_set
from curate.records import Message, Record, Source, record_id, to_frame

QUESTION = (
    "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes "
    "muffins for her friends every day with four."
)


def sft(row: int, prompt: str, answer: str = "ok") -> Record:
    return Record(
        id=record_id(f"{row}{prompt}"),
        kind="sft",
        prompt=[Message(role="user", content=prompt)],
        completion=[Message(role="assistant", content=answer)],
        source=Source(file="train", row=row),
    )


def eval_items(*items: tuple[str, str, str | None]) -> pl.DataFrame:
    return to_frame(
        [
            Record(
                id=item_id,
                kind="sft",
                prompt=[Message(role="user", content=prompt)],
                completion=[Message(role="assistant", content=ref)] if ref else None,
                source=Source(file="eval", row=i),
            )
            for i, (item_id, prompt, ref) in enumerate(items)
        ]
    )


def findings(train: list[Record], evals: pl.DataFrame, **config) -> list[dict]:
    result = LeakageCheck(evals, LeakageConfig(**config)).run(to_frame(train))
    return [
        {**r, "evidence": json.loads(r["evidence"])} for r in result.findings.iter_rows(named=True)
    ]


def test_ngram_overlap_survives_case_and_punctuation() -> None:
    evals = eval_items(
        ("gsm-1", QUESTION, None),
        (
            "gsm-2",
            "A totally different question about trains and their speeds over long distances today.",
            None,
        ),
    )
    train = [
        sft(
            0,
            "Solve: JANET'S ducks lay 16 eggs per day -- she eats three for breakfast every "
            "morning, and bakes muffins!",
        ),
        sft(1, "Write a haiku about ducks and eggs."),
    ]
    found = findings(train, evals, near=False)
    assert [(f["row"], f["reason"]) for f in found] == [(0, "eval_ngram_overlap")]
    evidence = found[0]["evidence"]
    assert evidence["eval_id"] == "gsm-1" and evidence["n"] == 13 and evidence["side"] == "prompt"
    assert "ducks lay 16 eggs per day" in evidence["ngram"]  # however apostrophes normalise
    assert len(evidence["ngram"].split()) == 13 and 0 < evidence["coverage"] < 1


def test_short_items_use_their_own_length_and_tiny_ones_are_skipped() -> None:
    nine = "Name three primary colours of the visible light spectrum"  # 9 words
    five = "What is the capital city"  # 5 words: below min_ngram
    evals = eval_items(("short", nine, None), ("tiny", five, None))
    train = [sft(0, f"Quick quiz. {nine}? Thanks."), sft(1, f"{five} of France?")]
    found = findings(train, evals, near=False)
    assert [(f["row"], f["evidence"]["eval_id"], f["evidence"]["n"]) for f in found] == [
        (0, "short", 9)
    ]
    result = LeakageCheck(evals, LeakageConfig(near=False)).run(to_frame(train))
    assert result.figures.ngram.eval_texts_too_short == 1


def test_template_ngrams_shared_by_many_eval_items_are_ignored() -> None:
    template = "Solve the following problem step by step and give the final answer as a number."
    evals = eval_items(
        *[(f"q{i}", f"{template} Item {i} asks about {i} apples.", None) for i in range(8)]
    )
    train = [sft(0, f"{template} How many legs do three spiders have?")]
    assert findings(train, evals, near=False) == []
    assert findings(train, evals, near=False, max_items_per_ngram=10)  # not a template at 10


def test_reference_leak_into_an_answer_side() -> None:
    reference = "She sells 16 - 3 - 4 = 9 duck eggs a day and makes 9 * 2 = 18 dollars every day at the market."
    evals = eval_items(("gsm-1", QUESTION, reference))
    pref = Record(
        id="p",
        kind="preference",
        prompt=[Message(role="user", content="How much?")],
        chosen=[Message(role="assistant", content=reference)],
        rejected=[Message(role="assistant", content="Twelve dollars.")],
        source=Source(file="train", row=5),
    )
    found = findings([pref], evals, near=False)
    assert [(f["evidence"]["eval_field"], f["evidence"]["side"]) for f in found] == [
        ("reference", "chosen")
    ]
    assert findings([pref], evals, near=False, include_references=False) == []


def test_near_duplicate_prompts() -> None:
    evals = eval_items(
        ("e1", "List the seven colours of the rainbow in order.", None),
        ("e2", "Explain photosynthesis to a child.", None),
    )
    train = [
        sft(0, "List the seven colors of the rainbow, in order"),  # light edit
        sft(1, "List the seven wonders of the ancient world."),  # shares words, not the item
        sft(2, "Explain photosynthesis to a child."),  # exact copy, shorter than min_ngram
    ]
    found = findings(train, evals)
    near = {f["row"]: f["evidence"] for f in found if f["reason"] == "eval_near_duplicate"}
    assert set(near) == {0, 2}
    assert near[0]["eval_id"] == "e1" and 0.7 <= near[0]["similarity"] < 1
    assert near[2]["eval_id"] == "e2" and near[2]["similarity"] == 1.0
    assert {f["row"] for f in found if f["reason"] == "eval_ngram_overlap"} == set()


def test_one_finding_per_record_names_the_best_item_and_counts_the_rest() -> None:
    evals = eval_items(("a", QUESTION, None), ("b", QUESTION + " How many eggs remain?", None))
    found = findings([sft(0, QUESTION)], evals, near=False)
    assert len(found) == 1
    evidence = found[0]["evidence"]
    assert evidence["eval_id"] == "a" and evidence["coverage"] == 1.0
    assert evidence["eval_items"] == 2 and evidence["other_eval_ids"] == ["b"]


# -- reading eval sets -------------------------------------------------------------------------


def test_reads_suites_question_files_and_datasets(tmp_path: Path, shared_data: Path) -> None:
    suite = tmp_path / "suite.jsonl"
    suite.write_text(
        json.dumps({"id": "c1", "prompt": "Add 2 and 3.", "reference": 5, "tags": ["canary"]})
        + "\n"
        + json.dumps(
            {
                "id": "c2",
                "messages": [
                    {"role": "system", "content": "Be terse."},
                    {"role": "user", "content": "Name a colour."},
                ],
            }
        )
        + "\n"
    )
    frame = load_eval_set(suite)
    assert frame["id"].to_list() == ["c1", "c2"]
    assert [(m["role"], m["content"]) for m in frame["completion"][0].to_list()] == [
        ("assistant", "5")
    ]
    assert frame["prompt"][1][-1]["content"] == "Name a colour."
    yaml_suite = tmp_path / "suite.yaml"
    yaml_suite.write_text("name: s\ncases:\n  - id: y1\n    prompt: Hello there\n")
    assert load_eval_set(yaml_suite)["id"].to_list() == ["y1"]

    mt = load_eval_set(shared_data / "mt_bench_questions.jsonl")
    assert len(mt) == 80 and mt["id"][0] == "81" and len(mt["prompt"][0]) == 2
    gsm = load_eval_set(shared_data / "gsm8k_example_model_solutions.jsonl")
    assert len(gsm) == 1319 and gsm["completion"][0][0]["content"].endswith("A: 18")
    demo = load_eval_set(shared_data / "alpaca_en_demo.json")  # a dataset: its prompts only
    assert len(demo) == 999 and demo["completion"].null_count() == 999

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"foo": 1}) + "\n")
    with pytest.raises(InputError, match="not an eval set"):
        load_eval_set(bad)
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"id": "c1", "messages": [{"text": "hi"}]}) + "\n")
    with pytest.raises(InputError, match=r"item 0: messages must be"):
        load_eval_set(broken)


# -- in the run, and on real data --------------------------------------------------------------


def test_run_with_eval_set_writes_leakage_quality_and_redacted_output(
    tmp_path: Path, store
) -> None:
    import curate
    from curate.pipeline.config import CurateConfig

    eval_file = tmp_path / "eval.jsonl"
    eval_file.write_text(json.dumps({"id": "gsm-1", "question": QUESTION}) + "\n")
    frame = to_frame(
        [
            sft(0, QUESTION, "Call me at (212) 684-4700 for the answer."),
            sft(1, "Describe the attached image.\n\n<noinput>", ""),
            sft(2, "Say hello.", "Hello!"),
        ]
    )
    # Only the cheap steps: the embedding ones (semantic, contradictions, diversity) load MiniLM.
    off = {"enabled": False}
    config = CurateConfig.from_data(
        {
            "semantic": off,
            "contradictions": off,
            "diversity": off,
            "pii": {"action": "redact"},
            "severity": {"eval_ngram_overlap": "drop"},
        }
    )
    result = curate.run(frame, config, out_dir=tmp_path / "out", eval_set=eval_file, store=store)
    assert result.findings_by_check["leakage"] == 2  # n-gram and near duplicate, same record
    assert result.dropped_by_reason == {"eval_ngram_overlap": 1}
    assert result.findings_by_reason["empty_answer"] == 1
    assert result.findings_by_reason["placeholder_input"] == 1
    assert result.n_kept + result.n_dropped + result.n_rejected == result.n_input_rows
    assert result.figures.pii.redacted_spans == {}  # the phone's record was dropped
    kept = pl.read_parquet(tmp_path / "out" / "curated.parquet")
    assert len(kept) == 2


def test_real_overlap_between_two_alpaca_samples(shared_data: Path) -> None:
    import curate

    train = curate.read_dataset(shared_data / "alpaca_random_9k.json").records
    demo = LeakageCheck(load_eval_set(shared_data / "alpaca_en_demo.json")).run(train)
    # Both files sample the same 52k Alpaca instructions: ~190 prompts of the demo recur.
    assert demo.figures.by_reason["eval_near_duplicate"] >= 150
    assert demo.figures.by_reason["eval_ngram_overlap"] >= 120
    gsm = LeakageCheck(load_eval_set(shared_data / "gsm8k_example_model_solutions.jsonl")).run(
        train
    )
    assert gsm.findings.is_empty()  # Alpaca does not contain GSM8K
