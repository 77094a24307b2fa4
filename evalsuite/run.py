"""A run: one model (base, or base + adapter) answers every case of a suite, and is scored.

Each case gets its checks' verdicts, generation-health flags and per-case metric values; the run
declares every metric it recorded (with its direction), adds perplexity on the probe set where
the model is local, and carries a manifest of what exactly was evaluated.
"""

from __future__ import annotations

import inspect
import json
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from curate import Generator, InputError, Message, NotFoundError, SamplingParams
from evalsuite import metrics as m
from evalsuite.checks import CheckContext, CheckResult
from evalsuite.health import Health, health
from evalsuite.judge import EvalJudgeConfig, LLMRubricJudge
from evalsuite.manifest import (
    Manifest,
    chat_template_sha256,
    folder_sha256,
    library_versions,
    local_folder,
    sha256_json,
)
from evalsuite.mt_bench import with_mt_bench
from evalsuite.perplexity import PerplexityResult, load_probe, perplexity
from evalsuite.probes import with_probes
from evalsuite.suite import Suite, load_suite

GATING_PARAMS = SamplingParams(temperature=0.0, max_tokens=256)
"""Greedy decoding: the default for runs that feed a gate (reruns give the same answers)."""


class EvalConfig(BaseModel):
    """How a run generates and scores: the backend, sampling, the probe and the judge."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: str = "transformers"
    """The generator backend (``transformers``, ``openai``, ``vllm``)."""
    base_url: str | None = None
    """The server URL for the ``openai`` backend."""
    backend_options: dict[str, Any] = Field(default_factory=dict)
    """Extra backend options (``batch_size``, ``threads``, ...)."""
    params: SamplingParams = GATING_PARAMS
    """Sampling parameters; greedy by default, as gating needs."""
    probe: bool | Path = True
    """Perplexity probe texts: True for the shipped set, a file (.txt or .jsonl), False to skip."""
    judge: EvalJudgeConfig | None = None
    """The rubric judge for ``judge`` checks (without one they are skipped and counted)."""
    probes: tuple[str, ...] = ()
    """Capability probes to run beside the suite (``ifeval``, ``refusal``; see
    ``evalsuite.probes``): their cases join the run as slices ``probe:<name>``."""
    mt_bench: int = Field(0, ge=0, le=80)
    """MT-Bench questions to add as the slice ``probe:mt_bench`` (round-robin over its eight
    categories; 0: none). ``evaluate_pair`` has the blind pairwise judge compare base and tuned
    on them (``evalsuite.mt_bench``)."""
    pairwise_judge: EvalJudgeConfig | None = None
    """The pairwise judge for the MT-Bench slice; None: the base model itself as a likelihood
    judge (local backends; no extra model to load or serve)."""


class CaseResult(BaseModel):
    """One case's answer and scores."""

    model_config = ConfigDict(frozen=True)

    id: str
    """The case id."""
    tags: list[str]
    """The case's tags (slices)."""
    messages: list[Message]
    """The input conversation."""
    reference: Any = None
    """The case's reference, for reports."""
    output: str
    """The model's answer."""
    finish_reason: str | None
    """``stop`` or ``length``."""
    checks: list[CheckResult]
    """Each check's verdict."""
    health: Health
    """Generation-health flags."""
    metrics: dict[str, float]
    """Per-case metric values (names declared in the run's ``metrics``)."""


class RunResult(BaseModel):
    """Everything one run produced."""

    model_config = ConfigDict(frozen=True)

    manifest: Manifest
    """What was evaluated, as hashes."""
    metrics: dict[str, m.MetricInfo]
    """Every metric recorded, with its type and direction."""
    cases: list[CaseResult]
    """Per case, in suite order."""
    perplexity: PerplexityResult | None = None
    """Probe-set perplexity, where computed."""
    skipped: dict[str, int] = Field(default_factory=dict)
    """Things not measured, counted by reason (``judge_check_no_judge``, ``perplexity_served``)."""
    cached: int = 0
    """Answers that came from the generation cache."""

    def summary(self) -> dict[str, float]:
        """The mean of every per-case metric over the cases that have it."""
        sums: dict[str, float] = {}
        counts: Counter[str] = Counter()
        for case in self.cases:
            for name, value in case.metrics.items():
                sums[name] = sums.get(name, 0.0) + value
                counts[name] += 1
        return {name: sums[name] / counts[name] for name in sorted(counts)}


def case_metrics(checks: list[CheckResult], flags: Health, output: str) -> dict[str, float]:
    """Per-case metric values from its check verdicts and health flags."""
    ran = [c for c in checks if c.passed is not None]
    values: dict[str, float] = {}
    if ran:
        values["pass"] = float(all(c.passed for c in ran))
    for kind in ("format", "substance"):
        group = [c for c in ran if c.kind == kind]
        if group:
            values[f"{kind}_pass"] = float(all(c.passed for c in group))
    for c in ran:
        values[f"check:{c.name}"] = float(bool(c.passed))
        if c.score is not None:
            values[f"score:{c.name}"] = float(c.score)
    for flag, on in flags.flags().items():
        values[f"health:{flag}"] = float(on)
    values["words"] = float(len(output.split()))
    return values


def declared_metrics(suite: Suite, with_perplexity: bool) -> dict[str, m.MetricInfo]:
    """The metrics a run of this suite records."""
    out = {x.name: x for x in (m.PASS, m.FORMAT_PASS, m.SUBSTANCE_PASS, m.WORDS)}
    for flag in m.HEALTH_FLAGS:
        info = m.health_metric(flag)
        out[info.name] = info
    for case in suite.cases:
        for check in case.checks:
            name = check.name or check.type
            out.setdefault(f"check:{name}", m.check_metric(name, check.kind))
            if check.type in ("rouge_l", "json_fields", "judge"):
                out.setdefault(f"score:{name}", m.score_metric(name, check.kind))
    if with_perplexity:
        out[m.PERPLEXITY.name] = m.PERPLEXITY
    return out


def score_case(case: Any, output: str, finish_reason: str | None, judge: Any) -> CaseResult:
    """Score one answer against its case's checks."""
    ctx = CheckContext(
        reference=case.reference, prompt=case.prompt_text, judge=judge, tools=case.tools
    )
    checks = [c.score(output, ctx) for c in case.checks]
    flags = health(output, finish_reason)
    return CaseResult(
        id=case.id,
        tags=case.tags,
        messages=case.messages,
        reference=case.reference,
        output=output,
        finish_reason=finish_reason,
        checks=checks,
        health=flags,
        metrics=case_metrics(checks, flags, output),
    )


def run(
    suite: Suite | str | Path,
    model: str,
    *,
    adapter: str | None = None,
    config: EvalConfig | None = None,
    generator: Generator | None = None,
    judge_generator: Generator | None = None,
    store: Any = None,
) -> RunResult:
    """Answer and score every case of a suite with one model (and adapter).

    Args:
        suite: A suite, or the path of a suite file.
        model: The model (alias, folder, hub id, or a served model's name).
        adapter: A LoRA adapter folder; the base model is shared with plain runs.
        config: Backend, sampling, probe and judge (default: ``EvalConfig()``, greedy).
        generator: An existing generator to use (share one loaded model across runs).
        judge_generator: An existing generator for the judge (else one is made from
            ``config.judge``).
        store: A ``curate.Store`` whose generation cache answers repeated requests.

    Raises:
        NotFoundError: the suite, model, adapter or probe file does not exist.
    """
    from curate import get_generator

    config = config or EvalConfig()
    backend, params, judge, probe = config.backend, config.params, config.judge, config.probe
    suite = suite if isinstance(suite, Suite) else load_suite(suite)
    suite = with_mt_bench(with_probes(suite, config.probes), config.mt_bench)
    if adapter is not None and not Path(adapter).is_dir() and backend != "openai":
        raise NotFoundError(f"adapter folder {adapter} does not exist")
    gen = generator or get_generator(
        backend, model, base_url=config.base_url, store=store, **config.backend_options
    )
    skipped: Counter[str] = Counter()
    rubric = None
    has_judge_checks = any(c.type == "judge" for case in suite.cases for c in case.checks)
    if has_judge_checks and judge_generator is not None:
        rubric = LLMRubricJudge(judge_generator, judge)
    elif has_judge_checks and judge is not None:
        jgen = get_generator(judge.backend, judge.model, base_url=judge.base_url, store=store)
        rubric = LLMRubricJudge(jgen, judge)
    generations = _generate(gen, suite, params, adapter)
    results = []
    for case, g in zip(suite.cases, generations, strict=True):
        result = score_case(case, g.text, g.finish_reason, rubric)
        skipped.update(f"check_skipped:{c.name}" for c in result.checks if c.passed is None)
        results.append(result)

    folder = local_folder(model) if backend != "openai" else None
    ppl = None
    if probe and folder is not None:
        texts = load_probe(None if probe is True else probe)
        ppl = perplexity(model, texts, adapter=adapter)
    elif probe:
        skipped["perplexity_needs_local_model"] += 1
    manifest = Manifest(
        suite_name=suite.name,
        suite_sha256=suite.sha256(),
        n_cases=len(suite.cases),
        prompts_sha256=prompts_sha256(suite),
        chat_template_sha256=chat_template_sha256(adapter, folder),
        model=model,
        model_sha256=folder_sha256(folder) if folder else None,
        adapter=str(Path(adapter).resolve()) if adapter and Path(adapter).is_dir() else adapter,
        adapter_sha256=folder_sha256(adapter) if adapter else None,
        backend=backend,
        params=params.model_dump(mode="json"),
        judge=judge.model_dump(mode="json") if judge and rubric else None,
        probe_sha256=ppl.probe_sha256 if ppl else None,
        libraries=library_versions(),
    )
    return RunResult(
        manifest=manifest,
        metrics=declared_metrics(suite, ppl is not None),
        cases=results,
        perplexity=ppl,
        skipped=dict(skipped),
        cached=sum(g.cached for g in generations),
    )


def _generate(gen: Generator, suite: Suite, params: SamplingParams, adapter: str | None) -> Any:
    chats = [c.messages for c in suite.cases]
    if not any(c.tools for c in suite.cases):
        return gen.generate(chats, params, adapter)
    if "tools" not in inspect.signature(gen.generate).parameters:
        raise InputError(f"the {gen.backend} backend cannot offer tools to the model")
    return gen.generate(chats, params, adapter, tools=[c.tools for c in suite.cases])


def prompts_sha256(suite: Suite) -> str:
    """A hash of what the model is asked: each case's messages, with its tools where it has any
    (so suites without tools keep the hash they always had)."""
    return sha256_json(
        [
            {"messages": [x.model_dump() for x in c.messages], "tools": c.tools}
            if c.tools
            else [x.model_dump() for x in c.messages]
            for c in suite.cases
        ]
    )


def save_run(result: RunResult, out_dir: str | Path) -> Path:
    """Write ``run.json`` (everything) and ``manifest.json`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.json").write_text(result.model_dump_json(indent=1), encoding="utf-8")
    (out / "manifest.json").write_text(result.manifest.model_dump_json(indent=2), encoding="utf-8")
    return out / "run.json"


def load_run(path: str | Path) -> RunResult:
    """Read a run from its folder (or its ``run.json``).

    Raises:
        NotFoundError: there is no run there.
    """
    path = Path(path)
    file = path / "run.json" if path.is_dir() else path
    if not file.is_file():
        raise NotFoundError(f"no run at {path} (expected {file})")
    return RunResult.model_validate(json.loads(file.read_text(encoding="utf-8")))
