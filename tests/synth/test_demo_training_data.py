"""What the demo trains and evaluates on, from what synthesis and the probes give it (pure logic):
the verified pairs in the house format stay verified, and the probe sample is a few cases of
every probe slice."""

from __future__ import annotations

import json
from collections import Counter

import evalsuite
from api.demo import BRIEF, habit_pairs, with_probe_sample
from curate import Message, Record, Source
from curate.verify import get_verifier

QUESTION = "Tom has 3 apples and buys 4 more. How many apples does he have?"


def pair(chosen: str, rejected: str, reference) -> Record:
    return Record(
        id=f"p{abs(hash((chosen, rejected))) % 10**8}",
        kind="preference",
        source=Source(file="negatives", row=0),
        prompt=[Message(role="user", content=QUESTION + BRIEF)],
        chosen=[Message(role="assistant", content=chosen)],
        rejected=[Message(role="assistant", content=rejected)],
        meta={"synth": {"reference": reference, "verifier": "numeric"}},
    )


def test_habit_pairs_put_both_sides_in_the_house_format_and_stay_verified():
    pairs = [
        pair('3 + 4 = 7 apples.\n{"answer": 7}', "He has 12 apples.", 7.0),  # ground truth
        pair("3 + 4 = 7, so 7.", "He has 12 apples.", 7.0),  # a verified sample
        pair("3 + 4 = 7.", "He has some apples.", 7.0),  # a rejected side with no number
        pair("seven", "six", "seven"),  # not a numeric reference
    ]
    rows, counts = habit_pairs(pairs)
    assert counts == {"pairs": 3, "rejected_without_number": 1, "non_numeric_reference": 1}
    numeric = get_verifier("numeric")
    for row in rows:
        assert row["prompt"] == [{"role": "user", "content": QUESTION}]  # BRIEF taken off
        chosen, rejected = row["chosen"][0]["content"], row["rejected"][0]["content"]
        assert json.loads(chosen.splitlines()[-1]) == {"answer": 7}
        assert numeric.verify(chosen, 7.0).passed and not numeric.verify(rejected, 7.0).passed
    assert rows[0]["chosen"][0]["content"].count('{"answer"') == 1  # not appended twice
    assert rows[1]["rejected"][0]["content"].endswith('\n{"answer": 12}')  # its own number
    assert rows[2]["rejected"][0]["content"] == "He has some apples."


def test_the_probe_sample_takes_a_few_cases_of_every_probe_slice():
    suite = evalsuite.Suite(
        name="target",
        cases=[evalsuite.Case.model_validate({"id": "t1", "prompt": "hi", "checks": []})],
    )
    sampled = with_probe_sample(suite, ["ifeval", "refusal"], 3)
    assert sampled.cases[0].id == "t1"
    probes = sampled.cases[1:]
    slices = Counter(tuple(c.tags[:2]) for c in probes)
    assert slices == {
        ("probe:ifeval",): 3,
        ("probe:refusal", "probe:refusal:harmful"): 3,
        ("probe:refusal", "probe:refusal:benign"): 3,
    }
    assert len({c.id for c in probes}) == 9
    ifeval = [c.id for c in probes if c.tags == ["probe:ifeval"]]
    assert ifeval != [c.id for c in evalsuite.with_probes(suite, ["ifeval"]).cases[1:4]]  # spread
