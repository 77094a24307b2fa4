"""Failure mining: run the base model over a pool of real prompts with references, keep the
cases it fails (with the failing check), and write them as a suite.

The static benchmark is then made of real edge cases where the base model failed — the cases a
fine-tune is supposed to fix — rather than of cases it already gets right.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from curate import (
    Generator,
    InputError,
    NotFoundError,
    SamplingParams,
    final_number,
    item_prompt,
    item_reference,
)
from evalsuite.run import GATING_PARAMS, EvalConfig, run
from evalsuite.suite import Case, Suite

CheckChoice = Literal["auto", "numeric", "exact", "contains", "rouge_l"]


class MineResult(BaseModel):
    """The mined suite and what happened to every pool row."""

    model_config = ConfigDict(frozen=True)

    suite: Suite | None
    """The failed cases as a suite (None when the base model failed nothing)."""
    pool_rows: int
    """Rows read from the pool (after ``offset``/``limit``)."""
    evaluated: int
    """Rows turned into cases and run."""
    skipped: dict[str, int] = Field(default_factory=dict)
    """Rows not evaluated, by reason (``no_prompt``, ``no_reference``, ``bad_json``)."""
    passed: int
    """Cases the base model passed (not kept)."""
    failed: int
    """Cases the base model failed (kept)."""
    failing_checks: dict[str, int] = Field(default_factory=dict)
    """How often each check failed among the kept cases."""


def _check(choice: CheckChoice, reference: Any) -> dict[str, Any]:
    if choice == "auto":
        choice = "numeric" if final_number(str(reference)) is not None else "rouge_l"
    if choice == "contains":
        return {"type": "contains", "value": [str(reference)]}
    return {"type": choice}


def read_pool(
    path: str | Path, *, check: CheckChoice = "auto", offset: int = 0, limit: int | None = None
) -> tuple[list[Case], int, Counter[str]]:
    """Pool rows (JSONL) to cases; returns the cases, the rows read, and skips by reason.

    A row may carry its own ``checks`` (a list of check objects); otherwise ``check`` decides.
    """
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"pool file {path} does not exist")
    cases, skipped, rows = [], Counter[str](), 0
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if lineno <= offset or not line.strip():
                continue
            if limit is not None and rows >= limit:
                break
            rows += 1
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                skipped["bad_json"] += 1
                continue
            # A case asks the first of MT-Bench's turns: the later ones follow up on an answer.
            prompt = item_prompt(row, first_turn=True, where=f"{path}:{lineno}")
            reference = item_reference(row)
            if prompt is None:
                skipped["no_prompt"] += 1
                continue
            if reference is None:
                skipped["no_reference"] += 1
                continue
            cases.append(
                Case.model_validate(
                    {
                        "id": f"{path.stem}-{lineno:05d}",
                        "prompt": prompt,
                        "reference": reference,
                        "tags": ["mined", path.stem],
                        "checks": row.get("checks") or [_check(check, reference)],
                        "meta": {"mined": {"pool": str(path), "line": lineno}},
                    }
                )
            )
    return cases, rows, skipped


def mine(
    pool: str | Path,
    model: str,
    *,
    backend: str = "transformers",
    adapter: str | None = None,
    check: CheckChoice = "auto",
    params: SamplingParams | None = None,
    offset: int = 0,
    limit: int | None = None,
    max_cases: int | None = None,
    generator: Generator | None = None,
    store: Any = None,
    base_url: str | None = None,
) -> MineResult:
    """Build a suite of the pool's cases that the (base) model fails.

    Args:
        pool: A JSONL file of prompts with references (``question``/``ground_truth``,
            ``prompt``/``reference``, ``instruction``/``output``, ``messages``, ...).
        model: The base model.
        backend: The generator backend.
        adapter: Mine against base + adapter instead of the base model.
        check: How failure is judged: ``auto`` (numeric when the reference ends in a number,
            else ROUGE-L), or one check type for every row.
        params: Sampling parameters (greedy by default).
        offset: Pool lines to skip first.
        limit: Pool rows to read at most.
        max_cases: Failed cases to keep at most (in pool order).
        generator: An existing generator (shares a loaded model).
        store: A store whose generation cache answers repeated requests.
        base_url: The server URL for the ``openai`` backend.

    Raises:
        NotFoundError: the pool file does not exist.
        InputError: no row of the pool could be turned into a case.
    """
    cases, rows, skipped = read_pool(pool, check=check, offset=offset, limit=limit)
    if not cases:
        raise InputError(f"{pool}: no row has both a prompt and a reference ({dict(skipped)})")
    suite = Suite(name=f"mined-{Path(pool).stem}", cases=cases)
    config = EvalConfig(
        backend=backend, base_url=base_url, params=params or GATING_PARAMS, probe=False
    )
    result = run(suite, model, adapter=adapter, config=config, generator=generator, store=store)
    kept, failing = [], Counter[str]()
    passed = 0
    for case, res in zip(cases, result.cases, strict=True):
        verdict = res.metrics.get("pass")
        if verdict is None:
            skipped["unscored"] += 1  # no check could run (a judge check without a judge)
            continue
        if verdict == 1.0:
            passed += 1
            continue
        failed_checks = [c.name for c in res.checks if c.passed is False]
        failing.update(failed_checks)
        meta = {
            **case.meta,
            "mined": {
                **case.meta["mined"],
                "failed_checks": failed_checks,
                "base_output": res.output[:1000],
            },
        }
        kept.append(case.model_copy(update={"meta": meta}))
    if max_cases is not None:
        kept = kept[:max_cases]
    return MineResult(
        suite=Suite(
            name=suite.name, description=f"cases {model} failed, mined from {pool}", cases=kept
        )
        if kept
        else None,
        pool_rows=rows,
        evaluated=len(cases),
        skipped=dict(skipped),
        passed=passed,
        failed=len(cases) - passed - skipped["unscored"],
        failing_checks=dict(failing),
    )
