"""Pair verification and verdict parsing, with scripted judges (pure logic)."""

from __future__ import annotations

import pytest

from curate.models.generation import Generation
from curate.records import Message, Record, Source
from curate.synth import SynthConfig, parse_verdict
from curate.synth.common import new_record
from curate.synth.verify import verify_pairs


class Judge:
    """A judge that answers by a rule over the two answers it is shown."""

    backend = "scripted"
    model = "judge"

    def __init__(self, rule) -> None:
        self.rule = rule

    def generate(self, chats, params, adapter=None):
        out = []
        for chat in chats:
            text = chat[-1].content
            a = text.split("Answer A:\n")[1].split("\n\nAnswer B:")[0]
            b = text.split("Answer B:\n")[1].split("\n\nReply with")[0]
            out.append(Generation(text=self.rule(a, b), finish_reason="stop"))
        return out


GOOD = "Paris is the capital of France."


def pair(rejected: str, row: int = 0) -> Record:
    base = Record(
        id=f"r{row}",
        kind="sft",
        prompt=[Message(role="user", content="Capital of France?")],
        completion=[Message(role="assistant", content=GOOD)],
        source=Source(file="f", row=row),
    )
    return new_record(
        base,
        chosen=base.completion,
        rejected=rejected,
        synth={"task": "negatives", "error_type": "factual_error", "source_id": base.id},
    )


PAIRS = [pair("Lyon is the capital of France, since 1802.", 0), pair("Berlin, obviously.", 1)]


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        ("A", "A"),
        ("B.", "B"),
        ("TIE", "TIE"),
        ("Answer B is better.", "B"),
        ("B is better", "B"),
        ("A good answer would mention Paris.", None),
        ("Both are equally good.", "TIE"),
        ("", None),
    ],
)
def test_parse_verdict(verdict, expected):
    assert parse_verdict(verdict) == expected


def test_a_judge_that_knows_keeps_the_pairs_with_its_verdicts():
    knows = Judge(lambda a, b: "A" if "Paris" in a else "B")
    kept, drops, figures = verify_pairs(PAIRS, knows, SynthConfig())
    assert [p.id for p in kept] == [p.id for p in PAIRS] and drops == []
    assert kept[0].meta["synth"]["judge"]["verdicts"] == ["A", "B"]
    assert figures.judged == 2 and figures.consistent == 2 and figures.first_position_wins == 2


def test_a_position_biased_judge_keeps_nothing():
    first = Judge(lambda a, b: "A")
    kept, drops, figures = verify_pairs(PAIRS, first, SynthConfig())
    assert kept == [] and {d.reason for d in drops} == {"judge_inconsistent"}
    assert figures.first_position_wins == 4 and figures.consistent == 0


def test_ties_wrong_preferences_and_unparseable_replies_are_dropped_with_reasons():
    cases = {
        "rejected_judged_correct": Judge(lambda a, b: "TIE"),
        "rejected_preferred": Judge(lambda a, b: "B" if "Paris" in a else "A"),
        "judge_unparseable": Judge(lambda a, b: "I cannot say."),
    }
    for reason, judge in cases.items():
        kept, drops, _ = verify_pairs(PAIRS[:1], judge, SynthConfig())
        assert kept == [] and [d.reason for d in drops] == [reason]
        assert drops[0].source_id == "r0"


def test_near_duplicate_pairs_never_reach_the_judge():
    calls = []
    judge = Judge(lambda a, b: calls.append(a) or "A" if "Paris" in a else "B")
    twin = pair("Paris is the capital of France!", 2)
    kept, drops, _ = verify_pairs([twin, PAIRS[0]], judge, SynthConfig(pair_similarity=0.9))
    assert [d.reason for d in drops] == ["near_duplicate_pair"]
    assert drops[0].detail["similarity"] >= 0.9
    assert [p.id for p in kept] == [PAIRS[0].id]


def test_length_bias_figures():
    knows = Judge(lambda a, b: "A" if "Paris" in a else "B")
    longer = pair("Berlin is, as everybody knows and has always known, the capital of France.", 3)
    _, _, figures = verify_pairs([PAIRS[1], longer], knows, SynthConfig())
    assert figures.chosen_longer_all == 0.5 and figures.chosen_longer_kept == 0.5
    assert figures.judge_prefers_longer == 0.5
