"""Contradictions: each kind with true and false pairs, clusters and proposals, the judge."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import curate
from curate.audit.answer_conflicts import compare
from curate.audit.contradictions import (
    VIA,
    Contradictions,
    ContradictionsConfig,
    candidate_pairs,
)
from curate.audit.judge import ContradictionJudgeConfig, Judge, parse_verdict
from curate.models.embed import Embedder
from curate.models.generation import Generation
from curate.text.answers import stated_number

MATH = "Tom has 3 boxes of 6 eggs. How many eggs does he have?"


@pytest.mark.parametrize(
    ("a", "b", "prompt", "kind"),
    [
        ("3 * 6 = 18 eggs.\nA: 18", "3 + 6 = 9 eggs.\nA: 9", MATH, "number"),
        ("He has 18 eggs.", "The total is 20.", MATH, "number"),
        # no answer marker: a quantity question's answer is the last number of the last line
        (
            "Each box holds 6.\nSo he has 3 * 6 = 18 eggs",
            "Adding up the boxes and eggs,\nhe has 3 + 6 = 9 eggs in total",
            MATH,
            "number",
        ),
        (
            "Yes, water boils at 100 C at sea level.",
            "No. It depends on pressure only.",
            "Does water boil at 100 C at sea level?",
            "yes_no",
        ),
        ("(B) because it is larger.", "The answer is C.", "Which is largest? A, B or C", "choice"),
        ("Fruit", "Vegetable", "Is a tomato a fruit or a vegetable?", "label"),
        (
            "The capital city of France is Paris, on the Seine river.",
            "The capital city of France is Lyon, on the Rhone river.",
            "What is the capital of France?",
            "entity",
        ),
        (
            '{"name": "Ann", "city": "Oslo"}',
            "Her name is Ann and she lives in Oslo.",
            "Return the person's name and city.",
            "format",
        ),
        (
            '{"name": "Ann", "city": "Oslo"}',
            '{"full_name": "Ann", "town": "Oslo"}',
            "Return the person's name and city.",
            "format",
        ),
        (
            "Photosynthesis turns light into chemical energy in chloroplasts.",
            "It is a process where fungi digest dead wood underground.",
            "Explain photosynthesis.",
            "divergent",
        ),
    ],
)
def test_conflicting_pairs_are_classified(a, b, prompt, kind):
    conflict = compare(a, b, prompt)
    assert conflict is not None and conflict.kind == kind
    assert conflict.span_a and conflict.span_b


@pytest.mark.parametrize(
    ("a", "b", "prompt"),
    [
        ("3 * 6 = 18 eggs.\nA: 18", "Six eggs in each of 3 boxes: 18.\nA: 18", MATH),
        ("Yes.", "Yes, it does at sea level.", "Does water boil at 100 C at sea level?"),
        ("(B)", "The answer is B.", "Which is largest? A, B or C"),
        ("France.", "Germany and France.", "Name a country that uses the Euro."),
        (
            "Paris is the capital. It is home to the Eiffel Tower.",
            "The capital is Paris, a city known for its museums and cafes.",
            "What is the capital of France?",
        ),
        (
            '{"name": "Ann", "city": "Oslo"}',
            '{"city": "Oslo", "name": "Ann"}',
            "Return the fields.",
        ),
        (
            "The leaves fall softly,\nautumn wind",
            "Red maple burning\nin the cold light",
            "Write a haiku about autumn.",
        ),
        ("<nooutput>", "<No output>", "Design a logo."),
        ("Water boils at 100 degrees.", "water boils at 100 degrees", "At what temperature?"),
    ],
)
def test_agreeing_or_open_ended_pairs_are_not_conflicts(a, b, prompt):
    assert compare(a, b, prompt) is None


def test_final_number_prefers_marked_answers():
    assert stated_number("16 - 3 = 13, then 13 * 2 = 26.\nA: 26")[1] == 26
    assert stated_number("#### 1,200")[1] == 1200
    assert stated_number("The total is $45.50 today.")[1] == 45.5
    assert (
        stated_number(
            "In 1990 there were 3 of them and in 2000 there were 7, a long story "
            "with many numbers in it and no marked answer."
        )
        is None
    )


def test_step_clusters_pairs_and_proposes_the_majority(sft_frame):
    frame = sft_frame(
        [
            (MATH, "3 * 6 = 18.\nA: 18"),
            (MATH, "Three boxes of six make 18.\nA: 18"),
            (MATH, "3 + 6 = 9.\nA: 9"),
            ("Is a tomato a fruit or a vegetable?", "Fruit"),
            ("Unrelated question?", "Unrelated answer."),
        ]
    )
    result = Contradictions(ContradictionsConfig(semantic=False)).run(frame)
    found = result.findings
    assert found.height == 3 and set(found["reason"]) == {"conflicting_answer"}
    assert found["cluster_id"].n_unique() == 1 and set(found["severity"]) == {"review"}
    evidence = {row: json.loads(e) for row, e in zip(found["row"], found["evidence"], strict=True)}
    assert evidence[0]["proposal"] == "keep" and evidence[1]["proposal"] == "keep"
    assert evidence[2]["proposal"] == "remove"
    wrong = evidence[2]["pairs"]
    assert {p["other_id"] for p in wrong} == set(frame["id"][:2])
    assert wrong[0]["span"] == "A: 9" and wrong[0]["other_span"] == "A: 18"
    assert result.figures.pairs_by_kind == {"number": 2}
    assert result.figures.conflict_clusters == 1 and result.figures.records_in_conflict == 3

    dropping = Contradictions(ContradictionsConfig(semantic=False, drop_proposed=True)).run(frame)
    assert dropping.findings.filter(dropping.findings["severity"] == "drop")["row"].to_list() == [2]


def test_semantic_neighbours_pair_only_prompts_with_the_same_numbers(sft_frame):
    frame = sft_frame(
        [
            ("How many legs do 3 spiders have?", "A: 24"),
            ("Count the legs of 3 spiders.", "A: 18"),
            ("How many legs do 4 spiders have?", "A: 32"),
        ]
    )
    same = np.ones((3, 4), dtype=np.float32) / 2.0  # every prompt embeds to the same unit vector
    result = Contradictions(ContradictionsConfig(), embed=lambda texts: same).run(frame)
    assert result.figures.candidates_by_source == {"semantic_prompt": 1}
    assert result.findings["row"].to_list() == [0, 1]
    alone = Contradictions(ContradictionsConfig(semantic=False), embed=lambda t: same).run(frame)
    assert alone.findings.height == 0


def test_candidate_pairs_are_each_keys_first_records_paired_and_neighbours_past_them():
    # keys of 1 to 7 records, shuffled; max_group 4 pairs only a key's first 4 records
    rng = np.random.default_rng(3)
    keys = [f"k{g}" for g in range(1, 8) for _ in range(g)]
    rng.shuffle(keys)
    prompts = ["ask me"] * len(keys)  # no numbers or names: every neighbour pair may count
    cfg = ContradictionsConfig(max_group=4)
    firsts = {k: [i for i, x in enumerate(keys) if x == k][:4] for k in set(keys)}
    same = {(i, j) for m in firsts.values() for i, j in itertools.combinations(m, 2)}
    left, right, via = candidate_pairs(keys, prompts, None, cfg)
    pairs = list(zip(left.tolist(), right.tolist(), strict=True))
    assert sorted(pairs) == sorted(same) and len(pairs) == len(same)
    assert set(via.tolist()) == {0}
    # the pairs come key by key: each key's pairs are one run
    runs = [keys[i] for i, _ in pairs]
    assert [k for n, k in enumerate(runs) if n == 0 or k != runs[n - 1]] == list(
        dict.fromkeys(runs)
    )
    # every prompt embeds alike: every other pair is a neighbour, past a key's first 4 too
    vectors = np.ones((len(keys), 8), dtype=np.float32) / np.sqrt(8)
    left, right, via = candidate_pairs(keys, prompts, vectors, cfg)
    pairs = list(zip(left.tolist(), right.tolist(), strict=True))
    assert sorted(pairs) == list(itertools.combinations(range(len(keys)), 2))
    assert {p for p, v in zip(pairs, via.tolist(), strict=True) if VIA[v] == "same_prompt"} == same


def test_the_index_finds_the_same_neighbours_as_every_pair_on_real_prompts(shared_data):
    # 9,229 real alpaca prompts, the shipped static model: above exhaustive_max the neighbours
    # come from the approximate index, and on this set it misses none of the exact pairs.
    records = curate.read_dataset(shared_data / "alpaca_random_9k.json").records
    embed = Embedder()
    exact = Contradictions(ContradictionsConfig(), embed=embed).run(records)
    approx = Contradictions(ContradictionsConfig(exhaustive_max=1_000), embed=embed).run(records)
    assert (exact.figures.path, approx.figures.path) == ("exhaustive", "ann")
    assert exact.figures.candidates_by_source["semantic_prompt"] > 100
    assert approx.figures.candidates_by_source == exact.figures.candidates_by_source
    assert approx.figures.pairs == exact.figures.pairs
    assert approx.findings.equals(exact.findings) and exact.findings.height > 0


class ScriptedGenerator:
    """A fake judge model that replies from a script (unit tests of the retry logic only)."""

    backend, model = "fake", "scripted"

    def __init__(self, replies):
        self.replies = iter(replies)
        self.seen = []

    def generate(self, chats, params, adapter=None):
        self.seen.append(chats)
        return [Generation(text=next(self.replies)) for _ in chats]


def test_judge_retries_a_bad_reply_and_gives_up_after_the_bound():
    gen = ScriptedGenerator(["I think they contradict.", '{"contradict": true, "keep": "B"}'])
    judge = Judge(gen, ContradictionJudgeConfig(max_retries=2))
    [verdict] = judge.judge([("q", "a", "b")])
    assert verdict.contradict and verdict.keep == "B" and judge.calls == 2
    assert gen.seen[1][0][-1].role == "user" and "JSON" in gen.seen[1][0][-1].content

    hopeless = Judge(ScriptedGenerator(["nope"] * 10), ContradictionJudgeConfig(max_retries=2))
    assert hopeless.judge([("q", "a", "b")]) == [None]
    assert hopeless.calls == 3 and hopeless.failures == 1
    with pytest.raises(ValueError, match="no JSON verdict"):
        parse_verdict('{"keep": "A"}')  # "contradict" is required


def test_judge_confirms_divergent_pairs_and_picks_the_side(sft_frame):
    frame = sft_frame(
        [
            ("Explain photosynthesis.", "Plants turn light into chemical energy in chloroplasts."),
            ("Explain photosynthesis.", "Fungi digest dead wood underground at night."),
        ]
    )
    unjudged = Contradictions(ContradictionsConfig(semantic=False)).run(frame)
    assert unjudged.findings.height == 0 and unjudged.figures.divergent_unjudged == 1
    gen = ScriptedGenerator(['{"contradict": true, "keep": "A", "reason": "fungi"}'])
    judged = Contradictions(ContradictionsConfig(semantic=False), generator=gen).run(frame)
    found = judged.findings
    assert set(found["reason"]) == {"judged_contradiction"}
    proposals = [json.loads(e)["proposal"] for e in found["evidence"]]
    assert proposals == ["keep", "remove"]
    assert judged.figures.judge.judged_pairs == 1


def test_divergent_pairs_past_those_reported_are_counted_and_the_judge_still_sees_the_first(
    sft_frame,
):
    answers = [
        "Plants turn light into chemical energy in chloroplasts.",
        "Fungi digest dead wood underground at night.",
        "Volcanoes erupt molten rock from deep chambers.",
        "Glaciers carve valleys over thousands of winters.",
    ]
    frame = sft_frame([("Explain photosynthesis.", a) for a in answers])
    few = ContradictionsConfig(semantic=False, max_pairs_reported=1)
    result = Contradictions(few).run(frame)
    # six divergent pairs, one kept for the report: every one is still counted
    assert result.figures.pairs_by_kind == {"divergent": 6}
    assert result.figures.divergent_unjudged == 6 and len(result.figures.pairs) == 1
    assert (result.figures.pairs[0].a.row, result.figures.pairs[0].b.row) == (0, 1)
    verdict = '{"contradict": true, "keep": "A", "reason": "r"}'
    judge = ContradictionJudgeConfig(max_pairs=2)
    judged = Contradictions(
        few.model_copy(update={"judge": judge}), generator=ScriptedGenerator([verdict] * 2)
    ).run(frame)
    # the judge reads the first two divergent pairs, as it did when every pair was kept
    assert judged.figures.judge.judged_pairs == 2 and judged.figures.divergent_unjudged == 4
    assert judged.figures.conflicting_pairs == 2


def gsm8k_pairs(path, n_questions):
    keys = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")
    with path.open() as f:
        rows = [json.loads(line) for _, line in zip(range(n_questions), f, strict=False)]
    for row in rows:
        sols = [(row[k]["solution"], row[k]["is_correct"]) for k in keys]
        for (a, ra), (b, rb) in itertools.combinations(sols, 2):
            if ra or rb:  # right/wrong: a contradiction; right/right: not one
                yield row["question"], a, b, ra != rb


def test_gsm8k_right_and_wrong_solutions_are_found(shared_data):
    tp = fp = fn = 0
    for question, a, b, truth in gsm8k_pairs(
        shared_data / "gsm8k_example_model_solutions.jsonl", 200
    ):
        c = compare(a, b, question)
        predicted = c is not None and c.kind != "divergent"
        tp += truth and predicted
        fp += predicted and not truth
        fn += truth and not predicted
    assert tp / (tp + fn) >= 0.95 and tp / (tp + fp) >= 0.95


@pytest.mark.slow
def test_real_small_model_as_judge_answers_within_the_retry_bound(smollm2_path):
    import torch

    from curate.models.backends import get_generator

    torch.set_num_threads(1)
    gen = get_generator("transformers", smollm2_path, cache=False)
    judge = Judge(gen, ContradictionJudgeConfig(max_retries=1, max_tokens=48))
    pairs = [("What is 2 + 2?", "4", "5"), ("What colour is the sky?", "Blue.", "Blue.")]
    verdicts = judge.judge(pairs)
    assert len(verdicts) == 2
    assert all(v is None or isinstance(v.contradict, bool) for v in verdicts)
    assert 2 <= judge.calls <= 4 and judge.failures == sum(v is None for v in verdicts)
