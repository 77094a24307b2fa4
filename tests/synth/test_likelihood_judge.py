"""The likelihood judge on the real SmolLM2: an obvious pair is decided the right way in both
orders, its position-consistency figure is computed, and a rerun through the generation cache
gives the same verdict without running the model."""

from __future__ import annotations

import math

import pytest

from curate.models.backends import CachedGenerator
from curate.models.logprobs import choice_logprobs, supports_logprobs
from curate.records import Message
from curate.synth.likelihood import LikelihoodJudge, PairScore, position_consistency

QUESTION = "What is the capital of France?"
GOOD = "The capital of France is Paris."
GARBAGE = "zxq blorp 77 ;; frgl nnn wub wub"


def test_an_obvious_pair_is_decided_right_in_both_orders(smol):
    judge = LikelihoodJudge(smol)
    (score,) = judge.compare([(QUESTION, GOOD, GARBAGE)])
    (swapped,) = judge.compare([(QUESTION, GARBAGE, GOOD)])
    # The averaged verdict picks the correct answer whichever side it is given on ...
    assert score.prefers == "a" and swapped.prefers == "b"
    assert swapped.margin == pytest.approx(-score.margin, abs=1e-4)
    # ... although the 135M model on its own strongly favours the letter A (position bias):
    # the correct answer wins by more where it is shown as A.
    assert score.a_shown_first > score.a_shown_second


def test_position_consistency_counts_the_pairs_whose_verdict_does_not_flip():
    scores = [
        PairScore(a_shown_first=1.0, a_shown_second=0.5),  # consistent
        PairScore(a_shown_first=2.0, a_shown_second=-0.5),  # flips: position bias
        PairScore(a_shown_first=-1.0, a_shown_second=-0.2),  # consistent
        PairScore(a_shown_first=0.3, a_shown_second=-3.0),  # flips
    ]
    assert position_consistency(scores) == 0.5
    assert [s.prefers for s in scores] == ["a", "a", "b", "b"]
    assert [s.first_position_picks for s in scores] == [1, 2, 1, 2]
    assert position_consistency([]) is None


def test_a_judge_that_always_names_a_is_never_position_consistent_and_its_bias_cancels():
    # log p(A) - log p(B) = bias + content in the order (a, b), bias - content in (b, a):
    # "A" wins both orders, so each order prefers a different answer: consistency 0, not 1;
    # the averaged margin is the content part alone.
    bias, contents = 3.0, [0.4, -0.2, 0.1]
    scores = [PairScore(a_shown_first=bias + d, a_shown_second=-(bias - d)) for d in contents]
    assert position_consistency(scores) == 0.0
    assert all(s.first_position_picks == 2 for s in scores)
    assert [s.margin for s in scores] == pytest.approx(contents)
    assert [s.prefers for s in scores] == ["a", "b", "a"]


def test_the_transformers_path_gives_the_same_verdict_through_the_cache(smol, store):
    cached = CachedGenerator(smol, store)
    assert supports_logprobs(cached)
    items = [(QUESTION, GOOD, GARBAGE), ("What is 2 + 2?", "2 + 2 = 4.", "2 + 2 = 7.")]
    first = LikelihoodJudge(cached)
    scores = first.compare(items)
    assert first.cached == 0
    again = LikelihoodJudge(CachedGenerator(smol, store))
    rerun = again.compare(items)
    assert again.cached == 2 * len(items)  # every order of every pair came from the store
    assert [s.prefers for s in rerun] == [s.prefers for s in scores]
    assert [s.margin for s in rerun] == pytest.approx([s.margin for s in scores])


def test_log_probabilities_are_a_distribution_over_the_options(smol):
    chat = [Message(role="user", content="Is Paris in France? Reply Yes or No.")]
    (got,) = choice_logprobs(smol, [chat], ("Yes", "No"))
    assert set(got.logprobs) == {"Yes", "No"}
    total = sum(math.exp(v) for v in got.logprobs.values())
    assert 0.0 < total <= 1.0 + 1e-6  # two options of a whole vocabulary


def test_the_contradiction_and_blind_judges_take_the_likelihood_kind(smol):
    from curate.audit.judge import ContradictionJudgeConfig, Judge
    from evalsuite.judge import EvalJudgeConfig, PairItem, judge_pairs

    judge = Judge(smol, ContradictionJudgeConfig(kind="likelihood"))
    verdicts = judge.judge([(QUESTION, GOOD, GARBAGE)])
    # a likelihood judge always answers: no reply to parse, nothing undecided
    assert verdicts[0] is not None and judge.failures == 0 and judge.calls == 4
    assert verdicts[0].keep in ("A", "B", "neither")
    assert verdicts[0].reason.startswith("likelihood:")

    item = PairItem(case_id="c1", prompt=QUESTION, base=GARBAGE, tuned=GOOD)
    summary = judge_pairs(smol, [item], EvalJudgeConfig(model="smollm2-135m"))  # kind: default
    assert summary.invalid == 0 and summary.retries == 0
    assert summary.judgments[0].verdict == "tuned"  # the averaged verdict picks the good answer
    assert summary.position_consistency in (0.0, 1.0)
