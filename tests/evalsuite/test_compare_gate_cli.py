"""Manifest checks, reports and the CLI's exit codes on simulated runs (no model)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from api.cli import main
from evalsuite import GatePolicy, ManifestMismatch, compare, gate, save_run
from evalsuite.gate import Rule
from evalsuite.html import html
from evalsuite.reports import junit

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "data" / "policies" / "default.toml"


def _exit(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as e:
        main(argv)
    return int(e.value.code)


def test_manifests_that_differ_in_suite_or_params_are_refused_unless_forced(run_of) -> None:
    vals = {"pass": np.ones(10)}
    base = run_of(vals)
    for field, value in (("suite_sha256", "x" * 64), ("params", {"temperature": 0.7})):
        other = run_of(vals, **{field: value})
        with pytest.raises(ManifestMismatch, match=field) as e:
            compare(base, other)
        assert any(d.field == field and d.blocking for d in e.value.diffs)
        forced = compare(base, other, force=True)
        assert forced.forced and gate(forced, GatePolicy(min_samples=1)).manifest_mismatch
    # A different model or adapter is what a comparison is for: noted, not blocking.
    ok = compare(base, run_of(vals, adapter="/runs/a", adapter_sha256="a" * 64))
    assert {d.field for d in ok.manifest_diffs} == {"adapter", "adapter_sha256"}
    assert not ok.blocking_diffs


def _pair(run_of, mode: str):
    n = 40
    tags = [["canary"] if i < 3 else ["family-a" if i % 2 else "family-b"] for i in range(n)]
    base_pass = np.array([1.0] * 20 + [0.0] * 20)
    tuned_pass = {
        "improve": np.ones(n),  # 20 fixed
        "regress": np.array([1.0] * 3 + [0.0] * 37),  # 17 regressed, canaries kept
        "mixed": np.array([1.0] * 3 + [0.0] * 17 + [1.0] * 20),  # 17 regressed, 20 fixed
    }[mode]
    outputs = [f"answer {i}" for i in range(n)]
    base = run_of({"pass": base_pass, "substance_pass": base_pass}, tags=tags, outputs=outputs)
    tuned = run_of(
        {"pass": tuned_pass, "substance_pass": tuned_pass},
        tags=tags,
        outputs=[o + " (tuned)" for o in outputs],
    )
    return base, tuned


def test_html_lists_regressed_cases_first_and_escapes_output(run_of) -> None:
    base, tuned = _pair(run_of, "mixed")
    tuned.cases[5].__dict__["output"] = "<script>alert(1)</script>"  # hostile model output
    page = html(compare(base, tuned))
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    first_regressed = page.index('class="badge regressed"')
    assert first_regressed < page.index('class="badge fixed"')
    assert page.index('id="c3"') < page.index('id="c20"')  # c3 regressed, c20 fixed


def test_junit_marks_failures_and_inconclusive_rules(run_of) -> None:
    base, tuned = _pair(run_of, "mixed")
    policy = GatePolicy(
        min_samples=5,
        must_improve=[Rule(metric="substance_pass")],
        must_not_regress=[Rule(metric="pass", slice="family-a")],
    )
    comparison = compare(base, tuned)
    decision = gate(comparison, policy)
    root = ET.fromstring(junit(decision, comparison))
    names = {c.get("name"): c for c in root.iter("testcase")}
    assert names["substance_pass@all"].find("skipped") is not None  # 17 lost, 20 gained: n.s.
    assert names["pass@family-a"].find("failure") is None
    assert names["3 canaries"].find("failure") is None
    assert decision.verdict == "inconclusive"
    regressed = gate(compare(*_pair(run_of, "regress")), policy)
    root = ET.fromstring(junit(regressed, comparison))
    failed = {c.get("name") for c in root.iter("testcase") if c.find("failure") is not None}
    assert failed == {"substance_pass@all", "pass@family-a"} and root.get("failures") == "2"
    assert int(root.get("tests")) == len(names)


def test_cli_compare_and_gate_exit_codes(run_of, tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text(
        'min_samples = 10\n[[must_improve]]\nmetric = "substance_pass"\n'
        '[[must_not_regress]]\nmetric = "pass"\nmargin = 0.02\n'
    )
    for regress, expected in ((False, 0), (True, 1)):
        base, tuned = _pair(run_of, "regress" if regress else "improve")
        save_run(base, tmp_path / "base")
        save_run(tuned, tmp_path / f"tuned{regress}")
        out = tmp_path / f"cmp{regress}"
        assert (
            _exit(
                [
                    "eval",
                    "compare",
                    str(tmp_path / "base"),
                    str(tmp_path / f"tuned{regress}"),
                    "--out",
                    str(out),
                    "--n-boot",
                    "500",
                ]
            )
            == 0
        )
        assert _exit(["gate", "--policy", str(policy), str(out)]) == expected
        for name in (
            "comparison.json",
            "report.md",
            "report.html",
            "gate.json",
            "gate.md",
            "junit.xml",
        ):
            assert (out / name).is_file(), name
    # regress: canaries c0-c2 kept passing; cases 3-19 regressed, so the reason names pass@all.
    assert "pass@all regressed" in (tmp_path / "cmpTrue" / "gate.md").read_text()

    # The same runs compared with themselves: inconclusive (2), or 1 with the flag.
    save_run(base, tmp_path / "same")
    assert (
        _exit(
            [
                "eval",
                "compare",
                str(tmp_path / "base"),
                str(tmp_path / "same"),
                "--out",
                str(tmp_path / "self"),
                "--n-boot",
                "500",
            ]
        )
        == 0
    )
    assert _exit(["gate", "--policy", str(policy), str(tmp_path / "self")]) == 2
    assert (
        _exit(["gate", "--policy", str(policy), str(tmp_path / "self"), "--fail-on-inconclusive"])
        == 1
    )


def test_cli_manifest_mismatch_and_usage_errors(run_of, tmp_path: Path) -> None:
    vals = {"pass": np.ones(25)}
    save_run(run_of(vals), tmp_path / "a")
    save_run(run_of(vals, params={"temperature": 1.0}), tmp_path / "b")
    assert (
        _exit(
            [
                "eval",
                "compare",
                str(tmp_path / "a"),
                str(tmp_path / "b"),
                "--out",
                str(tmp_path / "c"),
            ]
        )
        == 3
    )
    assert not (tmp_path / "c").exists()
    assert (
        _exit(
            [
                "eval",
                "compare",
                str(tmp_path / "a"),
                str(tmp_path / "b"),
                "--out",
                str(tmp_path / "c"),
                "--force",
                "--n-boot",
                "500",
            ]
        )
        == 0
    )
    assert _exit(["gate", "--policy", str(POLICY), str(tmp_path / "c")]) == 3
    assert _exit(["gate", str(tmp_path / "c")]) == 4  # missing --policy
    assert _exit(["gate", "--policy", str(tmp_path / "none.toml"), str(tmp_path / "c")]) == 4
    bad = tmp_path / "bad.toml"
    bad.write_text("confidence = 2\n")
    assert _exit(["gate", "--policy", str(bad), str(tmp_path / "c")]) == 4
    assert _exit(["gate", "--policy", str(POLICY), str(tmp_path / "nothing")]) == 4
