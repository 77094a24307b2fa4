"""Duplicates never swallow contradictions: pairs whose final answers conflict are not merged."""

from __future__ import annotations

import numpy as np

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
