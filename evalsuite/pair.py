"""Base and tuned on one suite, compared: the evaluation half of the lifecycle in one call.

``evaluate_pair`` runs the base model, then base + adapter, on the same suite with the same
``EvalConfig``, compares the two runs, and writes one layout into ``out_dir``::

    out_dir/
      base/      run.json, manifest.json                 (``save_run``)
      tuned/     run.json, manifest.json                 (``save_run``)
      compare/   comparison.json, report.md, report.html (``write_comparison_reports``)

``compare/`` is what ``tunesmith gate`` and ``load_comparison`` read. Without an adapter only
``base/`` is written. With ``EvalConfig.mt_bench`` the blind pairwise judge compares base and
tuned on the MT-Bench slice (``judge:pairwise@probe:mt_bench`` in the comparison).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from curate import Generator
from evalsuite.compare import CompareConfig, Comparison
from evalsuite.compare import compare as compare_runs
from evalsuite.reports import write_comparison_reports
from evalsuite.run import EvalConfig, RunResult, run, save_run
from evalsuite.suite import Suite, load_suite

BASE, TUNED, COMPARE = "base", "tuned", "compare"
"""The folders of ``out_dir``."""

Progress = Callable[[str, int, int], None]
"""Called as ``(step, index, steps)`` before each run (``base``, then ``tuned``)."""


class PairResult(BaseModel):
    """Both runs and their comparison."""

    model_config = ConfigDict(frozen=True)

    base: RunResult
    """The base model's run."""
    tuned: RunResult | None = None
    """Base + adapter (None when no adapter was given)."""
    comparison: Comparison | None = None
    """Tuned against base (None when no adapter was given)."""


def evaluate_pair(
    suite: Suite | str | Path,
    model: str,
    adapter: str | Path | None,
    *,
    out_dir: str | Path,
    config: EvalConfig | None = None,
    compare: CompareConfig | None = None,
    generator: Generator | None = None,
    store: Any = None,
    progress: Progress | None = None,
) -> PairResult:
    """Run base and tuned on a suite, compare them, and write both runs and the comparison.

    Args:
        suite: A suite, or the path of a suite file.
        model: The base model (alias, folder, hub id, or a served model's name).
        adapter: The tuned model's LoRA adapter folder; None runs the base model only.
        out_dir: Where ``base/``, ``tuned/`` and ``compare/`` go (see the module docstring).
        config: Backend, sampling, probe and judge, the same for both runs.
        compare: Confidence, bootstrap size, seed.
        generator: An existing generator (one loaded model serves both runs).
        store: A ``curate.Store`` whose generation cache answers repeated requests.
        progress: Told before each run starts.

    Raises:
        NotFoundError: the suite, model, adapter or probe file does not exist.
        ManifestMismatch: the two runs did not ask the same questions the same way.
    """
    out = Path(out_dir)
    suite = suite if isinstance(suite, Suite) else load_suite(suite)
    steps = 2 if adapter is not None else 1
    if progress:
        progress(BASE, 0, steps)
    base = run(suite, model, config=config, generator=generator, store=store)
    save_run(base, out / BASE)
    if adapter is None:
        return PairResult(base=base)
    if progress:
        progress(TUNED, 1, steps)
    tuned = run(suite, model, adapter=str(adapter), config=config, generator=generator, store=store)
    save_run(tuned, out / TUNED)
    judge_kwargs: dict[str, Any] = {}
    if config is not None and config.mt_bench > 0:
        judge_kwargs = _pairwise_judge(config, model, generator, store)
    comparison = compare_runs(base, tuned, config=compare, **judge_kwargs)
    write_comparison_reports(comparison, out / COMPARE)
    return PairResult(base=base, tuned=tuned, comparison=comparison)


def _pairwise_judge(config: EvalConfig, model: str, generator: Any, store: Any) -> dict[str, Any]:
    """The judge for the MT-Bench slice: the configured one, or the base model (a likelihood
    judge on local backends, generative on servers)."""
    from curate import get_generator
    from evalsuite.judge import EvalJudgeConfig
    from evalsuite.mt_bench import MT_BENCH_TAG

    judge = config.pairwise_judge or EvalJudgeConfig(
        model=model, backend=config.backend, base_url=config.base_url
    )
    if generator is not None and judge.model == model and judge.backend == config.backend:
        judge_gen = generator
    else:
        judge_gen = get_generator(judge.backend, judge.model, base_url=judge.base_url, store=store)
    return {"judge_generator": judge_gen, "judge": judge, "judge_tag": MT_BENCH_TAG}
