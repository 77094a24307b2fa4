"""Rebuild the shipped sample comparison (``data/samples/comparison/comparison.json``) from its own
cases with the current statistics, after a change to how comparisons are computed.

    .venv/bin/python scripts/sample_comparison.py
"""

from __future__ import annotations

import json
from pathlib import Path

import evalsuite
from curate import Message
from evalsuite.health import health

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "comparison" / "comparison.json"


def _run(comparison: dict, side: str) -> evalsuite.RunResult:
    cases = [
        evalsuite.CaseResult(
            id=c["id"],
            tags=c["tags"],
            messages=[Message(role="user", content=c["prompt"])],
            output=c[f"{side}_output"],
            finish_reason="stop",
            checks=[evalsuite.CheckResult(**k) for k in c[f"{side}_checks"]],
            health=health(c[f"{side}_output"], "stop"),
            metrics=c[f"{side}_metrics"],
        )
        for c in comparison["cases"]
    ]
    return evalsuite.RunResult(
        manifest=evalsuite.Manifest(**comparison[side]),
        metrics={k: evalsuite.MetricInfo(**v) for k, v in comparison["metrics"].items()},
        cases=cases,
    )


def main() -> None:
    old = json.loads(SAMPLE.read_text(encoding="utf-8"))
    config = evalsuite.CompareConfig(**old["config"])
    new = evalsuite.compare(_run(old, "base"), _run(old, "tuned"), config=config)
    SAMPLE.write_text(new.model_dump_json(indent=1) + "\n", encoding="utf-8")
    print(f"wrote {SAMPLE}")


if __name__ == "__main__":
    main()
