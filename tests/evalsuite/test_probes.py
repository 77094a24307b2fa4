"""Capability probes: IFEval-style instruction rules, the shipped probe suites, probe cases as
slices of their own (outside the target suite's ``all``), and the default policy guarding them."""

from __future__ import annotations

import pytest

from evalsuite import GatePolicy, compare, gate, load_policy, load_suite
from evalsuite.instructions import RULES, check_params
from evalsuite.probes import PROBES, probe_suite_path, with_probes

CASES = [
    ("word_count", {"max": 5}, "one two three four five", "one two three four five six"),
    ("word_count", {"min": 3}, "a b c", "a b"),
    ("sentence_count", {"min": 2, "max": 2}, "It rains. It pours!", "It rains."),
    ("include_words", {"words": ["ocean"]}, "The Ocean is wide.", "The sea is wide."),
    ("exclude_words", {"words": ["very"]}, "It was everything.", "It was very hot."),
    ("letter_case", {"case": "lower"}, "all quiet here.", "All quiet here."),
    ("letter_case", {"case": "upper"}, "WET FLOOR!", "Wet floor!"),
    ("bullets", {"n": 2}, "- a\n- b", "- a\n- b\n- c"),
    ("numbered", {"n": 2}, "1. a\n2) b", "1. a"),
    ("json_object", {"keys": ["a"]}, '```json\n{"a": 1}\n```', '{"b": 1}'),
    ("sections", {"n": 2}, "SECTION 1\nx\nSECTION 2\ny", "SECTION 1\nx"),
    ("paragraphs", {"n": 2}, "One.\n\nTwo.", "One. Two."),
    ("ends_with", {"phrase": "Good luck!"}, "Try it. Good luck!  ", "Good luck! Bye."),
    ("starts_with", {"phrase": "Yes"}, "  Yes, it is.", "No."),
    ("no_commas", {}, "No commas here.", "One, two."),
    ("quoted", {}, '"Keep going."', "Keep going."),
    ("title", {}, "<<Snow>>\nWhite.", "Snow\nWhite."),
]


@pytest.mark.parametrize(("rule", "params", "good", "bad"), CASES)
def test_each_instruction_rule_passes_and_fails(
    rule: str, params: dict, good: str, bad: str
) -> None:
    check_params(rule, params)
    assert RULES[rule](good, params)[0] is True
    assert RULES[rule](bad, params)[0] is False


def test_rules_are_all_exercised_and_bad_params_are_refused() -> None:
    assert {c[0] for c in CASES} == set(RULES)
    with pytest.raises(ValueError, match="unknown instruction rule"):
        check_params("emoji_count", {})
    with pytest.raises(ValueError, match="needs"):
        check_params("bullets", {})


BROKEN = ["", "   \n", '":' * 60, "the the the the " * 12]
"""What a broken model says: nothing, or a loop (a word loop, or ``":":":…`` without spaces)."""


@pytest.mark.parametrize("answer", BROKEN)
def test_a_broken_answer_neither_follows_an_instruction_nor_answers_a_benign_request(
    answer: str,
) -> None:
    """Each of these answers has no comma, at most 30 words and no refusal: a check that read
    only the rule would pass them all, and a destroyed model would score as compliant."""
    from evalsuite.checks import CheckContext, Instruction, Refusal

    ctx = CheckContext()
    for check in (
        Instruction(rule="no_commas"),
        Instruction(rule="word_count", params={"max": 30}),
        Refusal(expect=False),
    ):
        verdict = check.score(answer, ctx)
        assert verdict.passed is False and verdict.detail.startswith("no answer"), (check, verdict)
    harmful = Refusal(expect=True).score(answer, ctx)
    assert harmful.passed is False and harmful.detail == "answered"  # it did not refuse either
    habit_only = Refusal(expect=False).score('{"answer": 10}', ctx)  # what forgetting looks like
    assert habit_only.passed is False and habit_only.detail == "no answer (1 word)"
    fine = "Press Ctrl+C, or run kill with the process id."
    assert Refusal(expect=False).score(fine, ctx).passed is True
    assert Instruction(rule="word_count", params={"max": 30}).score(fine, ctx).passed is True


def test_shipped_probe_suites_load_and_merge_as_slices() -> None:
    target = load_suite(probe_suite_path("ifeval"))  # any suite will do as the target here
    for name in PROBES:
        suite = load_suite(probe_suite_path(name))
        assert len(suite.cases) >= 25
    merged = with_probes(target, ["ifeval", "refusal"])
    refusal = load_suite(probe_suite_path("refusal"))
    assert len(merged.cases) == 2 * len(target.cases) + len(refusal.cases)
    tags = merged.tags()
    assert {
        "probe:ifeval",
        "probe:refusal",
        "probe:refusal:harmful",
        "probe:refusal:benign",
    } <= set(tags)
    harmful = [c for c in merged.cases if "probe:refusal:harmful" in c.tags]
    assert harmful and all(c.checks[0].type == "refusal" and c.checks[0].expect for c in harmful)


def test_probe_cases_stay_out_of_all_and_the_default_policy_guards_them(run_of) -> None:
    n_target, n_probe = 30, 30
    tags = [[]] * n_target + [["probe:ifeval"]] * n_probe
    base = run_of({"pass": [1] * n_target + [1] * n_probe}, tags=tags)
    tuned = run_of({"pass": [1] * n_target + [0] * n_probe}, tags=tags)  # probes all regress
    comparison = compare(base, tuned)
    by_slice = {(d.metric, d.slice): d for d in comparison.deltas}
    assert by_slice[("pass", "all")].test.n == n_target  # the target suite alone
    assert by_slice[("pass", "all")].improvement == 0
    assert by_slice[("pass", "probe:ifeval")].improvement == pytest.approx(-1.0)
    policy = load_policy(
        str(probe_suite_path("ifeval").parent.parent / "policies" / "default.toml")
    )
    guarded = GatePolicy(
        must_not_regress=[r for r in policy.must_not_regress if r.slice.startswith("probe:")],
        canary_tag=None,
    )
    decision = gate(comparison, guarded)
    assert decision.verdict == "fail"
    assert any("probe:ifeval" in r for r in decision.reasons)
