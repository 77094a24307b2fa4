"""MT-Bench questions as a capability probe for the blind pairwise judge, base against tuned.

MT-Bench's questions have no programmatic answer: open writing, roleplay, reasoning, maths,
coding, extraction, STEM and humanities prompts (``probe_mt_bench.jsonl``, the first turn of
each of the 80). So they are not scored by checks: ``with_mt_bench`` adds some of them to a
suite as the slice ``probe:mt_bench``, the comparison's blind pairwise judge sees base and tuned
answers to them in both orders, and each judged case becomes a paired 0/1 outcome of the metric
``judge:pairwise`` (base won / tuned won; ties and identical answers count as neither). Its
delta is tuned's win rate minus base's, its test the exact McNemar test (a sign test on the
decisive verdicts), and the default gate policy guards it as a must-not-regress slice.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from evalsuite import metrics as m
from evalsuite.probes import with_slice
from evalsuite.suite import Case, Suite, load_suite

MT_BENCH_TAG = "probe:mt_bench"
"""The slice of the MT-Bench cases (and the tag the pairwise judge is pointed at)."""

PAIRWISE = m.MetricInfo(
    name="judge:pairwise",
    type="binary",
    higher_is_better=True,
    family="general",
    description="the blind pairwise judge preferred this side's answer in both orders",
)
"""Per judged case: base's value 1 when the judge preferred base, tuned's when it preferred
tuned; a tie is 0 on both sides."""


def mt_bench_path() -> Path:
    """The shipped MT-Bench suite (first turns of the 80 questions)."""
    return Path(str(resources.files("tunesmith_data") / "suites" / "probe_mt_bench.jsonl"))


def mt_bench_cases(n: int) -> list[Case]:
    """``n`` MT-Bench questions, taken round-robin over its categories (so 8 cover all 8)."""
    by_category: dict[str, list[Case]] = {}
    for case in load_suite(mt_bench_path()).cases:
        by_category.setdefault(case.tags[0] if case.tags else "", []).append(case)
    picked: list[Case] = []
    rank = 0
    while len(picked) < n and any(rank < len(v) for v in by_category.values()):
        picked += [v[rank] for v in by_category.values() if rank < len(v)]
        rank += 1
    return picked[:n]


def with_mt_bench(suite: Suite, n: int) -> Suite:
    """The suite with ``n`` MT-Bench questions appended as the slice ``probe:mt_bench``."""
    if n <= 0:
        return suite
    return with_slice(suite, MT_BENCH_TAG, mt_bench_cases(n), checks=False)
