"""Duplicates never swallow contradictions: pairs whose final answers conflict are not merged."""

from __future__ import annotations

import numpy as np
import pytest

from curate.dedup.clusters import conflicting_pairs
from curate.dedup.near import NearConfig, NearDedup
from curate.records import Message, Record, Source, to_frame

QUESTION = (
    "A robe takes 2 bolts of blue fiber and half that much white fiber. How many bolts in total?"
)
REASONING = "It takes 2/2 = 1 bolt of white fiber, so the total is 2 + 1 bolts of fabric."


def _frame(answers: list[str]):
    return to_frame(
        [
            Record(
                id=f"r{i}",
                kind="sft",
                prompt=[Message(role="user", content=QUESTION)],
                completion=[Message(role="assistant", content=a)],
                source=Source(file="t", row=i),
            )
            for i, a in enumerate(answers)
        ]
    )


def test_conflicting_final_answers_are_flagged_as_such() -> None:
    frame = _frame([f"{REASONING}\nA: 3", f"{REASONING}\nA: 4", f"{REASONING} Done.\nA: 3"])
    mask = conflicting_pairs(frame, np.array([0, 0]), np.array([1, 2]))
    assert mask.tolist() == [True, False]


def test_near_dedup_merges_agreeing_copies_but_not_conflicting_ones() -> None:
    frame = _frame([f"{REASONING}\nA: 3", f"{REASONING}\nA: 4", f"{REASONING}\nA: 3."])
    found = NearDedup(NearConfig(threshold=0.7)).run(frame).findings
    dropped = set(found.filter(found["severity"] == "drop")["record_id"].to_list())
    assert "r1" not in dropped  # the wrong answer is a contradiction, left for that step
    assert dropped == {"r2"} or dropped == {"r0"}  # the two agreeing copies are one cluster


# -- formats: the same content as prose and as JSON is a format conflict, not a duplicate -------

PERSON = "Extract the person's name, city and age from: Ann Berg, 34, lives in Oslo."
PROSE = "The name is Ann Berg, the city is Oslo and the age is 34."
JSON_ANSWER = '{"name": "Ann Berg", "city": "Oslo", "age": 34}'


def _pairs_frame(pairs: list[tuple[str, str]]):
    return to_frame(
        [
            Record(
                id=f"r{i}",
                kind="sft",
                prompt=[Message(role="user", content=p)],
                completion=[Message(role="assistant", content=a)],
                source=Source(file="t", row=i),
            )
            for i, (p, a) in enumerate(pairs)
        ]
    )


def test_format_conflicts_are_kept_apart_by_the_guard() -> None:
    frame = _pairs_frame(
        [
            (PERSON, PROSE),
            (PERSON, JSON_ANSWER),
            (PERSON, '{"full_name": "Ann Berg", "town": "Oslo", "age": 34}'),
            (PERSON, PROSE.replace("34.", "34 years.")),
            (PERSON, "```python\ndef person():\n    return 'Ann Berg', 'Oslo', 34\n```"),
        ]
    )
    mask = conflicting_pairs(frame, np.array([0, 1, 0, 0]), np.array([1, 2, 3, 4]))
    # prose/JSON, other JSON keys, prose/code conflict; a reworded prose answer does not
    assert mask.tolist() == [True, True, False, True]


def test_list_against_paragraph_conflicts_only_where_the_set_has_a_dominant_format() -> None:
    listed = "Steps:\n1. Preheat the oven\n2. Mix flour and eggs\n3. Bake for 20 minutes"
    paragraph = "Steps: preheat the oven, mix flour and eggs, bake for 20 minutes."
    ask = "How do I bake this cake?"
    others = [
        (f"Question {i} about baking?", f"Answer {i} in one plain sentence.") for i in range(8)
    ]
    prose_set = _pairs_frame([(ask, listed), (ask, paragraph), *others])
    assert conflicting_pairs(prose_set, np.array([0]), np.array([1])).tolist() == [True]
    half = [(f"Question {i}?", f"1. step {i}\n2. step {i + 1}") for i in range(5)]
    mixed_set = _pairs_frame([(ask, listed), (ask, paragraph), *others[:5], *half])
    assert conflicting_pairs(mixed_set, np.array([0]), np.array([1])).tolist() == [False]


def test_near_dedup_keeps_both_formats_and_contradictions_report_them() -> None:
    from curate.audit.contradictions import Contradictions

    frame = _pairs_frame([(PERSON, PROSE), (PERSON, JSON_ANSWER), (PERSON, PROSE)])
    near = NearDedup(NearConfig(threshold=0.5, answer_threshold=0.0)).run(frame)
    dropped = set(near.findings.filter(near.findings["severity"] == "drop")["record_id"])
    assert "r1" not in dropped and dropped <= {"r0", "r2"}  # only the prose copy goes
    kept = frame.filter(~frame["id"].is_in(list(dropped)))
    result = Contradictions().run(kept)
    found = result.findings
    assert set(found["reason"]) == {"conflicting_format"}
    assert set(found["record_id"]) == set(kept["id"])  # both sides are findings
    [pair] = [p for p in result.figures.pairs if p.kind == "format"]
    assert {pair.a.span, pair.b.span} == {"prose", "json{age,city,name}"}
    assert {pair.a.answer, pair.b.answer} == {PROSE, JSON_ANSWER}  # both sides shown


@pytest.mark.slow
def test_semantic_dedup_keeps_both_formats(store, minilm_path) -> None:
    from curate.dedup.semantic import SemanticConfig, SemanticDedup

    frame = _pairs_frame([(PERSON, PROSE), (PERSON, JSON_ANSWER)])
    # a threshold low enough that the two are similar: only the guard keeps them apart
    result = SemanticDedup(SemanticConfig(threshold=0.3), store=store).run(frame)
    assert result.findings.height == 0
    assert result.figures.pairs_vetoed_conflicting_answers == 1
