"""The lifecycle demo: curate → synthesize → mine → tune → evaluate → gate, on the CPU.

Every stage is a library call that the CLI and the API also make; the demo only builds the task
from real public data and strings the calls together. Each stage reuses what a previous run
left (generation and embedding caches, a trained adapter with the same fingerprint), so a second
run is much faster. The verdict is whatever the gate says: the policy is a file, fixed before
the run, never adjusted to the outcome.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from curate import HabitTaskConfig, InputError, build_habit_task

ROOT = Path(__file__).resolve().parents[1]
"""Where relative paths of the demo config point (the project root, as ``data_dir`` expects)."""


class DemoConfig(HabitTaskConfig):
    """What the demo runs on; ``demo/demo.toml`` in ``tunesmith_data`` holds the shipped values.

    The task's own knobs (``pool_questions``, ``train_questions``, ``extra_share``,
    ``extra_solutions``) come from ``curate.HabitTaskConfig``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: str = "../shared/data"
    """The folder of real public data (relative to the project root)."""
    source: str = "gsm8k_example_model_solutions.jsonl"
    """GSM8K questions with ground truth and real model solutions labelled right or wrong."""
    model: str = "smollm2-135m"
    """The base model."""
    max_new_tokens: int = Field(192, ge=8)
    """Tokens per answer when mining and evaluating."""
    max_suite_cases: int = Field(32, ge=1)
    """Mined cases kept in the static suite."""
    synth_records: int = Field(6, ge=0)
    """Curated questions the base model rejection-samples answers for (0 skips synthesis)."""
    synth_samples: int = Field(2, ge=1)
    """Answers sampled per question (k), each checked by the numeric verifier."""
    synth_max_tokens: int = Field(128, ge=8)
    """Tokens per sampled answer (a truncated answer is dropped, never verified)."""
    probes: list[str] = Field(default_factory=lambda: ["ifeval", "refusal"])
    """Capability probes run beside the mined suite (``evalsuite.PROBES``); the gate policy
    guards their slices (``probe:<name>``, ``probe:refusal:harmful`` …)."""
    probe_cases: int = Field(4, ge=1)
    """Cases taken from each probe slice (ifeval; refusal's harmful and benign each), spread
    over the probe's file: a few, to keep the demo's time down. Fewer than the policy's
    ``min_samples`` makes those rules inconclusive, and the gate says so."""
    curate_config: str | None = None
    """The curation config (default: the shipped ``demo/curate.toml``)."""
    train_config: str | None = None
    """The training config (default: the shipped ``demo/train.toml``)."""
    dpo_config: str | None = None
    """The DPO pass on the verified pairs, continuing the SFT adapter (default: the shipped
    ``demo/dpo.toml``); skipped when synthesis yields no pair."""
    policy: str | None = None
    """The gate policy (default: the shipped ``policies/habit.toml``)."""
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
    """The adapter evaluated and gated: the DPO pass's, or the SFT one's where there was none."""
    trained_on: dict[str, int]
    """What the tuned model was trained on: ``curated`` and verified ``teacher`` examples (SFT),
    verified ``pairs`` (DPO)."""
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
    with _config_file(Path(path) if path else None, "demo", "demo.toml") as file:
        values = tomllib.loads(file.read_text(encoding="utf-8"))
    return DemoConfig(**{**values, **{k: v for k, v in overrides.items() if v is not None}})


def _resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else ROOT / p


def _optional(path: str | None) -> Path | None:
    return _resolve(path) if path is not None else None


@contextmanager
def _config_file(path: Path | None, *shipped: str) -> Iterator[Path]:
    """``path``, or where it is None the shipped file (a resource of ``tunesmith_data``)."""
    if path is not None:
        yield path
        return
    with as_file(files("tunesmith_data").joinpath(*shipped)) as file:
        yield file


def synthesize_verified(
    curated: Path,
    config: DemoConfig,
    store: Any,
    generator: Any,
    out: Path,
    reports: list[str] | None = None,
) -> tuple[dict[str, Any], list[Any]]:
    """The demo's synthesis stage: rejection sampling with the numeric verifier, no judge.

    The base model answers each of the first ``synth_records`` curated questions
    ``synth_samples`` times; the verifier checks each answer's final number against the ground
    truth. Negatives keeps (correct, wrong) pairs; the teacher keeps each question's shortest
    correct answer, served from the same cached samples (``habit_examples`` puts them in the
    house format, ready to train on).

    Returns:
        The verified counts (``questions``, ``pairs``, ``pairs_from_reference``, ``teacher``,
        ``pass_at_k``) and the teacher examples as prompt/completion rows. The pairs are in
        ``out/negatives/records.jsonl`` (``habit_pairs`` puts them in the house format).
    """
    import curate

    questions = _brief_questions(curated, config.synth_records, out / "questions.jsonl")
    cfg = curate.SynthConfig(
        model=config.model,
        limit=config.synth_records,
        max_tokens=config.synth_max_tokens,
        teacher_select="all",
        samples=config.synth_samples,
        verifier="numeric",
        chunk=32,
        options={"batch_size": 16},
    )
    results = {}
    for task in ("negatives", "teacher"):
        results[task] = curate.synthesize(task, questions, cfg, store=store, generator=generator)
        files = curate.write_result(results[task], out / task)
        if reports is not None:
            reports.append(str(files["report"]))
    pairs, teacher = results["negatives"].report, results["teacher"]
    sampling = pairs.sampling
    counts = {
        "questions": sampling.prompts if sampling else 0,
        "pairs": pairs.n_kept,
        "pairs_from_reference": sampling.chosen_from_reference if sampling else 0,
        "teacher": teacher.report.n_kept,
        "pass_at_k": sampling.pass_at_k if sampling else None,
    }
    return counts, habit_examples(curate.from_frame(teacher.records))


BRIEF = "\nAnswer briefly."
"""Appended to each question the base model samples answers for: SmolLM2's answers then end
within 128 tokens about three times in four (one in ten without it), and a truncated answer is
never verified. It is taken off again before a teacher answer is trained on."""


def _brief_questions(curated: Path, limit: int, out: Path) -> Path:
    """The first ``limit`` curated single-turn records, each question with ``BRIEF`` appended."""
    import json

    import curate

    out.parent.mkdir(parents=True, exist_ok=True)
    records = curate.from_frame(curate.read_dataset(curated).records.head(limit))
    with out.open("w", encoding="utf-8") as f:
        for r in records:
            question = "\n".join(m.content or "" for m in r.prompt if m.role == "user")
            answer = "\n".join(m.content or "" for m in r.completion or [])
            f.write(json.dumps({"prompt": question + BRIEF, "completion": answer}) + "\n")
    return out


def habit_examples(teacher: list[Any]) -> list[dict[str, Any]]:
    """Verified teacher answers in the house format, as conversational prompt/completion rows.

    Each answer passed the numeric verifier against its question's ground truth
    (``meta.synth.reference``), so its number is known to be right; what a 135M model does not
    write is the habit's last line. The reasoning stays as the model wrote it and the line
    ``{"answer": N}`` with the verified number is appended: the rewrite ``house_format`` gives
    GSM8K's own solutions. An answer whose reference is not a number is left out.
    """
    import json

    out = []
    for record in teacher:
        reference = record.meta.get("synth", {}).get("reference")
        if not isinstance(reference, int | float):
            continue
        number = int(reference) if float(reference).is_integer() else reference
        reasoning = "\n".join(m.content or "" for m in record.completion).strip()
        prompt = [m.model_dump(exclude_none=True) for m in record.prompt]
        prompt[-1]["content"] = prompt[-1]["content"].removesuffix(BRIEF)
        out.append(
            {
                "prompt": prompt,
                "completion": [
                    {
                        "role": "assistant",
                        "content": f"{reasoning}\n{json.dumps({'answer': number})}",
                    }
                ],
            }
        )
    return out


def habit_pairs(pairs: list[Any]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Verified pairs in the house format, as conversational prompt/chosen/rejected rows.

    Both sides end in the habit's last line, so what DPO contrasts is the number, not the
    format (SFT teaches the format): the chosen side gets ``{"answer": N}`` with its verified
    number unless it already ends so (a ground-truth answer does), the rejected side the number
    it actually gave (``curate.final_number``), which still fails the verifier. A rejected answer
    with no number at all is left as it is, and counted.

    Returns:
        The rows, and counts: ``pairs``, ``rejected_without_number``; a pair whose reference is
        not a number is left out (``non_numeric_reference``).
    """
    import curate

    rows, counts = [], {"pairs": 0, "rejected_without_number": 0, "non_numeric_reference": 0}
    for record in pairs:
        reference = record.meta.get("synth", {}).get("reference")
        if not isinstance(reference, int | float):
            counts["non_numeric_reference"] += 1
            continue
        prompt = [m.model_dump(exclude_none=True) for m in record.prompt]
        prompt[-1]["content"] = prompt[-1]["content"].removesuffix(BRIEF)
        chosen = "\n".join(m.content or "" for m in record.chosen).strip()
        if _answer_line(chosen) is None:
            chosen = f"{chosen}\n{_json_answer(reference)}"
        rejected = "\n".join(m.content or "" for m in record.rejected).strip()
        given = curate.final_number(rejected)
        if given is None:
            counts["rejected_without_number"] += 1
        elif _answer_line(rejected) is None:
            rejected = f"{rejected}\n{_json_answer(given)}"
        rows.append(
            {
                "prompt": prompt,
                "chosen": [{"role": "assistant", "content": chosen}],
                "rejected": [{"role": "assistant", "content": rejected}],
            }
        )
        counts["pairs"] += 1
    return rows, counts


def _json_answer(number: float) -> str:
    import json

    value = int(number) if float(number).is_integer() else number
    return json.dumps({"answer": value})


def _answer_line(text: str) -> Any:
    """The value of a closing ``{"answer": ...}`` line, or None where the text ends otherwise."""
    import json

    last = text.rstrip().rsplit("\n", 1)[-1].strip()
    try:
        value = json.loads(last)
    except ValueError:
        return None
    return value.get("answer") if isinstance(value, dict) else None


def with_probe_sample(suite: Any, names: list[str], per_slice: int) -> Any:
    """The suite with ``per_slice`` cases of each probe slice appended, spread over each probe.

    A slice is a probe and its cases' first own tag (``probe:refusal:harmful``); cases are taken
    at even steps through the probe's file, so a few of them still cover several kinds.
    """
    import evalsuite

    full = evalsuite.with_probes(suite, names)
    groups: dict[tuple[str, ...], list[Any]] = {}
    for case in full.cases[len(suite.cases) :]:
        groups.setdefault(tuple(case.tags[:2]), []).append(case)
    picked = []
    for cases in groups.values():
        step = len(cases) / min(per_slice, len(cases))
        picked += [cases[int(i * step)] for i in range(min(per_slice, len(cases)))]
    return full.model_copy(update={"cases": [*suite.cases, *picked]})


def _jsonl(rows: list[dict[str, Any]], out: Path) -> Path:
    import json

    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return out


def training_set(curated: Path, teacher: list[dict[str, Any]], out: Path) -> Path:
    """One JSONL file to train on: the curated records, then the verified teacher examples."""
    import json

    import curate

    curate.write_records(curate.read_dataset(curated).records, out)
    with out.open("a", encoding="utf-8") as f:
        f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in teacher)
    return out


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

    out = _resolve(config.out_dir)
    timings: dict[str, float] = {}
    stages = 8

    def stage(i: int, name: str) -> float:
        say(f"\n[{i}/{stages}] {name}")
        return time.perf_counter()

    t = stage(1, "build a habit-teaching task from real GSM8K solutions")
    source = _resolve(config.data_dir) / config.source
    train_path, pool_path = build_habit_task(source, out / "data", config)
    say(f"  training set {train_path}  pool {pool_path}")
    timings["task"] = time.perf_counter() - t

    t = stage(2, "ingest and curate it (full audit; the pool doubles as the leakage eval set)")
    store = curate.Store()
    try:
        with _config_file(_optional(config.curate_config), "demo", "curate.toml") as file:
            curate_cfg = curate.CurateConfig.from_file(file)
        result = curate.run(
            train_path, curate_cfg, out_dir=out / "curate", eval_set=pool_path, store=store
        )
        say(
            f"  {result.n_input_rows} rows → {result.n_kept} kept, {result.n_dropped} dropped "
            f"{result.dropped_by_reason}, {result.n_rejected} rejected; "
            f"findings {result.findings_by_reason}"
        )
        timings["curate"] = time.perf_counter() - t

        t = stage(3, "rejection-sample verified teacher answers and pairs from the base model")
        generator = curate.get_generator("transformers", config.model, store=store)
        synth_reports: list[str] = []
        curated = out / "curate" / "curated.parquet"
        teacher_examples: list[Any] = []
        pair_rows: list[dict[str, Any]] = []
        if config.synth_records:
            counts, teacher_examples = synthesize_verified(
                curated, config, store, generator, out / "synth", synth_reports
            )
            say(
                f"  {counts['questions']} questions x {config.synth_samples} samples: "
                f"{counts['pairs']} verified pairs ({counts['pairs_from_reference']} with the "
                f"ground truth as chosen), {counts['teacher']} verified teacher answers; "
                f"pass@k {counts['pass_at_k']}"
            )
            pair_records = curate.read_dataset(out / "synth" / "negatives" / "records.jsonl")
            pair_rows, pair_counts = habit_pairs(curate.from_frame(pair_records.records))
            say(f"  the pairs in the house format, for DPO: {pair_counts}")
        timings["synthesize"] = time.perf_counter() - t

        t = stage(4, "mine a static suite of edge cases the base model fails")
        params = curate.SamplingParams(temperature=0.0, max_tokens=config.max_new_tokens)
        mined = evalsuite.mine(
            pool_path,
            config.model,
            generator=generator,
            store=store,
            params=params,
            max_cases=config.max_suite_cases,
        )
        if mined.suite is None:
            raise InputError("the base model failed no pool case: nothing to tune for")
        suite_path = out / "suite.jsonl"
        evalsuite.save_suite(mined.suite, suite_path)
        say(
            f"  {mined.evaluated} pool cases: base failed {mined.failed}, kept "
            f"{len(mined.suite.cases)} → {suite_path}  (failing checks {mined.failing_checks})"
        )
        timings["mine"] = time.perf_counter() - t

        t = stage(
            5, "tune a LoRA adapter (SFT) on the curated set and the verified teacher answers"
        )
        with _config_file(_optional(config.train_config), "demo", "train.toml") as file:
            train_cfg = train.load_config(file).with_overrides(
                base_model=config.model, output_dir=str(out / "adapter")
            )
        data = training_set(curated, teacher_examples, out / "data" / "train_verified.jsonl")
        trained = train.run(data, train_cfg, progress=train_progress)
        trained_on = {
            "curated": result.n_kept,
            "teacher": len(teacher_examples),
            "sft_train_split": trained.preflight.n_train,
        }
        say(
            f"  {trained.preflight.n_train} records trained on (of {result.n_kept} curated + "
            f"{len(teacher_examples)} verified teacher examples; the rest hold out an eval "
            f"loss); {trained.status}: {trained.metrics}"
        )
        timings["train"] = time.perf_counter() - t
        if trained.adapter_dir is None:
            raise InputError(f"the SFT run {trained.status}: {trained.stop_reason}")
        adapter = trained.adapter_dir

        t = stage(6, "DPO on the verified pairs, continuing the SFT adapter")
        trained_on["pairs"] = 0
        if pair_rows:
            with _config_file(_optional(config.dpo_config), "demo", "dpo.toml") as file:
                dpo_cfg = train.load_config(file).with_overrides(
                    base_model=config.model,
                    init_adapter=adapter,
                    output_dir=str(out / "adapter-dpo"),
                )
            pairs_path = _jsonl(pair_rows, out / "data" / "dpo_verified_pairs.jsonl")
            refined = train.run(pairs_path, dpo_cfg, progress=train_progress)
            say(
                f"  {refined.status}, {refined.steps} steps on {refined.preflight.n_train} "
                f"verified pairs (chosen passes the numeric verifier, rejected fails it): "
                f"{refined.metrics}"
            )
            if refined.adapter_dir is not None:
                adapter, trained_on["pairs"] = refined.adapter_dir, refined.preflight.n_train
        else:
            say("  no verified pair: the SFT adapter is the tuned model")
        say(
            f"  the tuned model was trained on {trained_on['curated']} curated records, "
            f"{trained_on['teacher']} verified teacher examples and {trained_on['pairs']} "
            "verified pairs"
        )
        timings["dpo"] = time.perf_counter() - t

        t = stage(7, "evaluate base and tuned on the suite, the capability probes and perplexity")
        suite = with_probe_sample(mined.suite, config.probes, config.probe_cases)
        say(f"  {len(suite.cases) - len(mined.suite.cases)} probe cases from {config.probes}")
        # base/, tuned/ and compare/ land in the demo's folder (evalsuite.pair's layout)
        pair = evalsuite.evaluate_pair(
            suite,
            config.model,
            adapter,
            out_dir=out,
            config=evalsuite.EvalConfig(params=params),
            generator=generator,
            store=store,
        )
        comparison = pair.comparison
        assert comparison is not None  # an adapter was given
        timings["evaluate"] = time.perf_counter() - t

        t = stage(8, "gate with the shipped policy")
        with _config_file(_optional(config.policy), "policies", "habit.toml") as file:
            policy = evalsuite.load_policy(file)
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
        adapter=str(adapter),
        trained_on=trained_on,
        comparison_report=str(out / "compare" / "report.html"),
        gate_report=str(gate_dir / "gate.md"),
        verdict=decision.verdict,
        reasons=list(decision.reasons),
        timings={k: round(v, 1) for k, v in timings.items()},
    )
