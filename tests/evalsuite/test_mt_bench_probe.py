"""MT-Bench as a capability probe: its questions join a run as a slice, the blind pairwise judge
compares base and tuned on them, and the default gate policy refuses a tune the judge finds
worse there."""

from __future__ import annotations

from importlib import resources

import numpy as np

from evalsuite import compare, gate, load_policy
from evalsuite.mt_bench import MT_BENCH_TAG, PAIRWISE, mt_bench_cases, with_mt_bench
from evalsuite.suite import Suite

N = 24  # above the default policy's min_samples of 20


def test_mt_bench_questions_join_a_suite_as_a_slice_over_every_category() -> None:
    suite = Suite(name="s", cases=[{"id": "a", "prompt": "hi"}])
    assert with_mt_bench(suite, 0) == suite
    grown = with_mt_bench(suite, 8)
    added = grown.cases[1:]
    assert len(added) == 8 and all(c.id.startswith(f"{MT_BENCH_TAG}:mt-") for c in added)
    categories = {c.tags[1] for c in added}
    assert len(categories) == 8 and all(c.tags[0] == MT_BENCH_TAG for c in added)
    assert all(not c.checks for c in added)  # judged pairwise, not checked
    assert len(mt_bench_cases(80)) == 80


def _runs(run_of, tuned_says: str, base_says: str):
    """A target suite of 30 cases and N MT-Bench cases; only the MT-Bench answers differ."""
    tags: list[list[str]] = [[]] * 30 + [[MT_BENCH_TAG]] * N
    ones = np.ones(30 + N)
    base_out = [f"same {i}" for i in range(30)] + [f"{base_says} {i}" for i in range(N)]
    tuned_out = [f"same {i}" for i in range(30)] + [f"{tuned_says} {i}" for i in range(N)]
    base = run_of({"pass": ones, "substance_pass": ones}, tags=tags, outputs=base_out)
    tuned = run_of({"pass": ones, "substance_pass": ones}, tags=tags, outputs=tuned_out)
    return base, tuned


def test_the_judges_verdicts_are_a_paired_metric_on_the_slice_it_judged(
    run_of, fake_judges
) -> None:
    always_first, content = fake_judges
    base, tuned = _runs(run_of, "correct", "plain")
    c = compare(base, tuned, judge_generator=content(), judge_tag=MT_BENCH_TAG)
    assert c.judge is not None and c.judge.n == N and c.judge.tuned_wins == N
    d = c.delta(PAIRWISE.name, MT_BENCH_TAG)
    assert d is not None and d.test.n == N and d.improvement == 1.0 and d.outcome == "improved"
    assert c.delta(PAIRWISE.name) is None  # the target suite was not judged
    # A judge that always prefers the first answer shown: every verdict a tie, no change.
    c = compare(base, tuned, judge_generator=always_first(), judge_tag=MT_BENCH_TAG)
    d = c.delta(PAIRWISE.name, MT_BENCH_TAG)
    assert d is not None and d.test.delta == 0 and d.test.p_value == 1.0


def test_identical_answers_are_ties_without_asking_the_judge(run_of, fake_judges) -> None:
    always_first, _ = fake_judges
    base, _ = _runs(run_of, "plain", "plain")
    judge = always_first()
    c = compare(base, base, judge_generator=judge)
    assert judge.calls == 0 and c.judge is not None and c.judge.ties == c.judge.n == 30 + N


def test_the_default_policy_refuses_a_tune_the_judge_finds_worse_on_mt_bench(
    run_of, fake_judges
) -> None:
    _, content = fake_judges
    policy = load_policy(str(resources.files("tunesmith_data") / "policies" / "default.toml"))
    base, tuned = _runs(run_of, "plain", "correct")  # base wins every MT-Bench question
    decision = gate(compare(base, tuned, judge_generator=content(), judge_tag=MT_BENCH_TAG), policy)
    assert decision.verdict == "fail"
    assert any(r.startswith(f"{PAIRWISE.name}@{MT_BENCH_TAG} regressed") for r in decision.reasons)
    # Without the judge the slice is not measured: a note, not a verdict.
    decision = gate(compare(base, tuned), policy)
    assert decision.verdict != "fail"
    assert any(PAIRWISE.name in n and "not measured" in n for n in decision.notes)
