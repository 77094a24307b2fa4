"""Build data/suites/bfcl_tool_calls.jsonl: a tool-use suite sampled from BFCL v4.

    python scripts/build_tool_suite.py [--data ../shared/data] [--simple 30] [--multiple 20]

Source: ``bfcl/BFCL_v4_simple_python.json`` and ``bfcl/BFCL_v4_multiple.json`` (the questions
and function docs) with ``bfcl/possible_answer/`` (each parameter's acceptable values), copied
unchanged from ShishirPatil/gorilla at commit 6ea5797 (see ../shared/data/SOURCES.md). A case
offers the question's function docs as ``tools`` (BFCL's ``dict``/``float``/``tuple``/``any``
types turned into JSON Schema by ``curate.verify.tool_call.json_schema``) and its reference is
BFCL's ground truth, every acceptable value kept; it is graded by ``tool_call_format`` (a
parseable call) and ``tool_call`` (the right call).

Sampling: per category, a seeded random sample (``random.Random(seed).sample``) of the questions
whose reference, rendered as a call (the first acceptable value of each parameter), passes its
own check; the others are left out and counted by reason. Cases keep BFCL's order and ids.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from curate.verify.tool_call import ReferenceCall, example_arguments, json_schema
from evalsuite import Case, Suite, save_suite

ROOT = Path(__file__).resolve().parents[1]
CATEGORIES = {"simple_python": "simple", "multiple": "multiple"}
"""BFCL category → the case tag."""
COMMIT = "6ea57973c7a6097fd7c5915698c54c17c5b1b6c8"
CHECKS = [{"type": "tool_call_format"}, {"type": "tool_call"}]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _tool(doc: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {**doc, "parameters": json_schema(doc["parameters"])}}


def _case(question: dict[str, Any], answer: dict[str, Any], category: str) -> Case:
    if question["id"] != answer["id"]:
        raise SystemExit(f"question {question['id']} and answer {answer['id']} do not line up")
    reference = [
        {"name": name, "acceptable": params}
        for entry in answer["ground_truth"]
        for name, params in entry.items()
    ]
    alternatives = any(
        len([v for v in values if v != ""]) > 1
        for call in reference
        for values in call["acceptable"].values()
    )
    return Case.model_validate(
        {
            "id": question["id"],
            "messages": question["question"][0],
            "tools": [_tool(doc) for doc in question["function"]],
            "reference": reference,
            "tags": [CATEGORIES[category], *(["alternatives"] if alternatives else [])],
            "checks": CHECKS,
            "meta": {
                "source": f"BFCL v4 {category} (ShishirPatil/gorilla@{COMMIT[:7]})",
                "bfcl_id": question["id"],
            },
        }
    )


def reference_passes(case: Case) -> bool:
    """Whether the reference, rendered as a call, passes the case's own checks."""
    from evalsuite.run import score_case

    calls = [
        {"name": c["name"], "arguments": example_arguments(ReferenceCall.model_validate(c))}
        for c in case.reference
    ]
    result = score_case(case, json.dumps(calls), "stop", None)
    return all(c.passed for c in result.checks)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--simple", type=int, default=30, help="simple_python cases")
    ap.add_argument("--multiple", type=int, default=20, help="multiple cases")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "suites" / "bfcl_tool_calls.jsonl")
    args = ap.parse_args(argv)
    wanted = {"simple_python": args.simple, "multiple": args.multiple}
    left_out: Counter[str] = Counter()
    cases: list[Case] = []
    for category, n in wanted.items():
        questions = _lines(args.data / "bfcl" / f"BFCL_v4_{category}.json")
        answers = _lines(args.data / "bfcl" / "possible_answer" / f"BFCL_v4_{category}.json")
        eligible = []
        for q, a in zip(questions, answers, strict=True):
            case = _case(q, a, category)
            if reference_passes(case):
                eligible.append(case)
            else:
                left_out[f"{category}:reference_fails_own_check:{case.id}"] += 1
        picked = set(random.Random(args.seed).sample(range(len(eligible)), n))
        cases += [c for i, c in enumerate(eligible) if i in picked]
        print(f"{category}: {len(questions)} questions, {len(eligible)} eligible, {n} sampled")
    suite = Suite(name=args.out.stem, cases=cases)
    save_suite(suite, args.out)
    for reason, count in sorted(left_out.items()):
        print(f"  left out {reason}: {count}")
    print(f"{len(cases)} cases -> {args.out} (sha256 {suite.sha256()[:12]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
