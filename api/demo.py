"""The lifecycle demo: curate → synthesize → mine → tune → evaluate → gate, on the CPU.

Every stage is a library call that the CLI and the API also make; the demo only builds the task
from real public data and strings the calls together. Each stage reuses what a previous run
left (generation and embedding caches, a trained adapter with the same fingerprint), so a second
run is much faster. The verdict is whatever the gate says: the policy is a file, fixed before
the run, never adjusted to the outcome.
"""

from __future__ import annotations

import json
import random
import re
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from curate.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


class DemoConfig(BaseModel):
    """What the demo runs on; ``data/demo/demo.toml`` holds the shipped values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: str = "../shared/data"
    """The folder of real public data (relative to the project root)."""
    source: str = "gsm8k_example_model_solutions.jsonl"
    """GSM8K questions with ground truth and real model solutions labelled right or wrong."""
    pool_questions: int = Field(48, ge=1)
    """The first questions, held out as the pool the edge-case suite is mined from."""
    train_questions: int = Field(360, ge=1)
    """The next questions, whose ground-truth answers form the training set."""
    extra_share: float = Field(0.35, ge=0.0, le=1.0)
    """The share of training questions that also get the model solutions below."""
    extra_solutions: list[str] = ["175b_verification", "6b_finetuning"]
    """Model solutions added for those questions (right or wrong, as the source says)."""
    model: str = "smollm2-135m"
    """The base model."""
    max_new_tokens: int = Field(192, ge=8)
    """Tokens per answer when mining and evaluating."""
    max_suite_cases: int = Field(32, ge=1)
    """Mined cases kept in the static suite."""
    synth_records: int = Field(6, ge=0)
    """Records given to the teacher and to the negatives task (0 skips synthesis)."""
    curate_config: str = "data/demo/curate.toml"
    """The curation config."""
    train_config: str = "data/demo/train.toml"
    """The training config."""
    policy: str = "data/policies/habit.toml"
    """The gate policy."""
    out_dir: str = "tunesmith-demo"
    """Where every artifact goes."""


class DemoResult(BaseModel):
    """Where the demo's outputs are, and the verdict."""

    out_dir: str
    audit_report: str
    """The curation audit report (HTML)."""
    synthesis_reports: list[str]
    suite: str
    """The mined static suite of edge cases."""
    adapter: str
    comparison_report: str
    """The base-vs-tuned comparison (HTML)."""
    gate_report: str
    """The gate's decision (Markdown)."""
    verdict: str
    """pass, fail or inconclusive."""
    reasons: list[str]
    timings: dict[str, float]
    """Seconds per stage."""


def load_demo_config(path: str | Path | None = None, **overrides: Any) -> DemoConfig:
    """The shipped demo config (or another file), with overrides."""
    path = Path(path) if path else ROOT / "data" / "demo" / "demo.toml"
    with open(path, "rb") as f:
        values = tomllib.load(f)
    return DemoConfig(**{**values, **{k: v for k, v in overrides.items() if v is not None}})


def _resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else ROOT / p


# ---------------------------------------------------------------------------------------------
# the task: GSM8K solutions in a house format
# ---------------------------------------------------------------------------------------------

_CALC = re.compile(r"<<[^>]*>>")
_FINAL = re.compile(r"\n?A:\s*(-?[\d,]*\.?\d+)\s*$")


def house_format(solution: str) -> str | None:
    """A GSM8K solution in the demo's house format: the reasoning, then ``{"answer": N}``."""
    text = _CALC.sub("", solution).strip()
    match = _FINAL.search(text)
    if not match:
        return None
    number = match.group(1).replace(",", "")
    value = float(number)
    answer = int(value) if value.is_integer() else value
    return f"{text[: match.start()].strip()}\n{json.dumps({'answer': answer})}"


FORMAT_CHECK = {
    "type": "regex",
    "name": "answer_json_line",
    "pattern": r'(?m)^\{"answer": -?[0-9.]+\}\s*\Z',
    "kind": "format",
}
"""The habit: the answer ends with a line that is exactly ``{"answer": <number>}``."""


def build_task(config: DemoConfig, out: Path) -> tuple[Path, Path]:
    """Write the training set (prompt/completion JSONL) and the held-out pool (JSONL)."""
    source = _resolve(config.data_dir) / config.source
    if not source.is_file():
        raise InputError(f"{source}: the demo's source data is missing (see data/demo/demo.toml)")
    rows = [json.loads(line) for line in source.open(encoding="utf-8") if line.strip()]
    need = config.pool_questions + config.train_questions
    if len(rows) < need:
        raise InputError(f"{source}: {len(rows)} questions, the demo needs {need}")
    out.mkdir(parents=True, exist_ok=True)
    pool_path, train_path = out / "pool.jsonl", out / "train.jsonl"
    with pool_path.open("w", encoding="utf-8") as f:
        for row in rows[: config.pool_questions]:
            f.write(json.dumps({"question": row["question"], "ground_truth": row["ground_truth"],
                                "checks": [FORMAT_CHECK, {"type": "numeric"}]}) + "\n")  # fmt: skip
    rng = random.Random(0)
    with train_path.open("w", encoding="utf-8") as f:
        for row in rows[config.pool_questions : need]:
            answers = [row["ground_truth"]]
            if rng.random() < config.extra_share:
                answers += [row[k]["solution"] for k in config.extra_solutions if k in row]
            for answer in answers:
                completion = house_format(answer)
                if completion is not None:
                    f.write(
                        json.dumps({"prompt": row["question"], "completion": completion}) + "\n"
                    )
    return train_path, pool_path


# ---------------------------------------------------------------------------------------------
# the lifecycle
# ---------------------------------------------------------------------------------------------

Say = Callable[[str], None]


def run_demo(
    config: DemoConfig, say: Say = print, train_progress: Callable[[Any], None] | None = None
) -> DemoResult:
    """Run the whole lifecycle; returns where the reports are and the gate's verdict.

    Args:
        config: what to run on.
        say: where progress lines go.
        train_progress: receives the trainer's progress events (``train.TrainEvent``).
    """
    import curate
    import evalsuite
    import train
    from curate.models.backends import get_generator
    from curate.models.generation import SamplingParams
    from curate.synth import SynthConfig, synthesize, write_result

    out = _resolve(config.out_dir)
    timings: dict[str, float] = {}
    stages = 7

    def stage(i: int, name: str) -> float:
        say(f"\n[{i}/{stages}] {name}")
        return time.perf_counter()

    t = stage(1, "build a habit-teaching task from real GSM8K solutions")
    train_path, pool_path = build_task(config, out / "data")
    say(f"  training set {train_path}  pool {pool_path}")
    timings["task"] = time.perf_counter() - t

    t = stage(2, "ingest and curate it (full audit; the pool doubles as the leakage eval set)")
    store = curate.Store()
    try:
        curate_cfg = curate.CurateConfig.from_file(_resolve(config.curate_config))
        result = curate.run(train_path, curate_cfg, out_dir=out / "curate", eval_set=pool_path,
                            store=store)  # fmt: skip
        say(f"  {result.n_input_rows} rows → {result.n_kept} kept, {result.n_dropped} dropped "
            f"{result.dropped_by_reason}, {result.n_rejected} rejected; "
            f"findings {result.findings_by_reason}")  # fmt: skip
        timings["curate"] = time.perf_counter() - t

        t = stage(3, "synthesize teacher answers and verified negative pairs with the base model")
        generator = get_generator("transformers", config.model, store=store)
        synth_reports = []
        if config.synth_records:
            curated = out / "curate" / "curated.parquet"
            synth_cfg = SynthConfig(model=config.model, limit=config.synth_records,
                                    max_tokens=config.max_new_tokens, teacher_select="all")  # fmt: skip
            for task in ("teacher", "negatives"):
                synth = synthesize(task, curated, synth_cfg, store=store,  # type: ignore[arg-type]
                                   generator=generator, judge=generator)  # fmt: skip
                files = write_result(synth, out / "synth" / task)
                synth_reports.append(str(files["report"]))
                r = synth.report
                say(f"  {task}: {r.n_generated} generated, {r.n_kept} kept, dropped {r.dropped}")
        timings["synthesize"] = time.perf_counter() - t

        t = stage(4, "mine a static suite of edge cases the base model fails")
        params = SamplingParams(temperature=0.0, max_tokens=config.max_new_tokens)
        mined = evalsuite.mine(pool_path, config.model, generator=generator, store=store,
                               params=params, max_cases=config.max_suite_cases)  # fmt: skip
        if mined.suite is None:
            raise InputError("the base model failed no pool case: nothing to tune for")
        suite_path = out / "suite.jsonl"
        evalsuite.save_suite(mined.suite, suite_path)
        say(f"  {mined.evaluated} pool cases: base failed {mined.failed}, kept "
            f"{len(mined.suite.cases)} → {suite_path}  (failing checks {mined.failing_checks})")  # fmt: skip
        timings["mine"] = time.perf_counter() - t

        t = stage(5, "tune a LoRA adapter on the curated set")
        train_cfg = train.load_config(_resolve(config.train_config)).model_copy(
            update={"base_model": config.model, "output_dir": str(out / "adapter")}
        )
        trained = train.run(out / "curate" / "curated.parquet", train_cfg, progress=train_progress)
        say(f"  {trained.status}: {trained.metrics}")
        timings["train"] = time.perf_counter() - t

        t = stage(6, "evaluate base and tuned on the suite and the general probe; compare")
        base = evalsuite.run(mined.suite, config.model, generator=generator, store=store,
                             params=params)  # fmt: skip
        tuned = evalsuite.run(mined.suite, config.model, adapter=trained.adapter_dir,
                              generator=generator, store=store, params=params)  # fmt: skip
        evalsuite.save_run(base, out / "eval" / "base")
        evalsuite.save_run(tuned, out / "eval" / "tuned")
        comparison = evalsuite.compare(base, tuned)
        compare_dir = out / "compare"
        evalsuite.write_comparison_reports(comparison, compare_dir)
        timings["evaluate"] = time.perf_counter() - t

        t = stage(7, "gate with the shipped policy")
        policy = evalsuite.load_policy(_resolve(config.policy))
        decision = evalsuite.gate(comparison, policy)
        gate_dir = out / "gate"
        evalsuite.write_gate_reports(decision, comparison, gate_dir)
        timings["gate"] = time.perf_counter() - t
    finally:
        store.close()

    return DemoResult(
        out_dir=str(out),
        audit_report=str(out / "curate" / "report.html"),
        synthesis_reports=synth_reports,
        suite=str(suite_path),
        adapter=str(trained.adapter_dir),
        comparison_report=str(compare_dir / "report.html"),
        gate_report=str(gate_dir / "gate.md"),
        verdict=decision.verdict,
        reasons=list(decision.reasons),
        timings={k: round(v, 1) for k, v in timings.items()},
    )
