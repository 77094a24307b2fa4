"""``curate.synthesize``: the one entry point of synthesis. The CLI and the API call it."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl

from curate.models.backends import CachedGenerator, get_generator
from curate.models.generation import Generator
from curate.records import empty_frame, to_frame
from curate.store.store import Store
from curate.synth.common import Drop, Progress
from curate.synth.config import SynthConfig, Task
from curate.synth.diversify import diversify_prompts
from curate.synth.negatives import (
    corrections,
    negative_pairs,
    verified_corrections,
    verified_pairs,
)
from curate.synth.report import SynthReport, SynthResult, count_reasons, write_result
from curate.synth.sampling import screened_fates, summarize, verified_samples
from curate.synth.screen import records_of, screen
from curate.synth.teacher import teacher_answers, verified_teacher_answers
from curate.synth.verify import verify_pairs

TASKS: tuple[Task, ...] = ("teacher", "diversify", "negatives")


def synthesize(
    task: Task,
    input: str | Path | pl.DataFrame,
    config: SynthConfig | None = None,
    *,
    store: Store | None = None,
    out_dir: str | Path | None = None,
    flagged: set[str] | None = None,
    generator: Generator | None = None,
    judge: Generator | None = None,
    progress: Progress | None = None,
) -> SynthResult:
    """Synthesise for a dataset: teacher answers, diversified prompts, or verified negatives.

    Every generation goes through the store's cache, so a rerun (or a resumed job) asks the
    model only for what it has not answered yet.

    Args:
        task: ``teacher``, ``diversify`` or ``negatives``.
        input: a dataset file, a stored dataset's id or name, or a frame of ``RECORD_SCHEMA``.
        config: the generator, sampling and checks (defaults: SmolLM2 on transformers).
        store: the store (generation cache; stored datasets); default ``Store()``.
        out_dir: when given, write ``records.jsonl``, ``dropped.jsonl``, ``report.json`` there.
        flagged: teacher: ids of records flagged by curation findings, answered anew.
        generator: a ready generator to use instead of building one from the config.
        judge: a ready judge generator (negatives); default: one built from the config.
        progress: called with (stage, done, total) as generation advances.

    Raises:
        InputError: an unknown task, or an input that is neither a file, a dataset nor a frame.
    """
    from curate.errors import InputError
    from curate.pipeline.run import load_input

    if task not in TASKS:
        raise InputError(f"unknown synthesis task {task!r}; choose one of {', '.join(TASKS)}")
    config = config or SynthConfig()
    owned = store is None
    store = store or Store()
    try:
        start = time.perf_counter()
        existing = load_input(input, store).records
        records = records_of(existing.head(config.limit) if config.limit else existing)
        generator = generator or _generator(config, store)
        result = _TASKS[task](records, existing, generator, judge, config, store, flagged, progress)
        result.report.n_input = len(existing)
        result.report.n_considered = len(records)
        result.report.cache = _cache_figures(generator, judge)
        result.report.seconds = round(time.perf_counter() - start, 3)
        if out_dir is not None:
            write_result(result, out_dir)
        return result
    finally:
        if owned:
            store.close()


def _generator(config: SynthConfig, store: Store) -> Generator:
    return get_generator(
        config.backend, config.model, base_url=config.base_url, store=store, **config.options
    )


def _judge(config: SynthConfig, store: Store, generator: Generator) -> Generator:
    if config.judge_model is None and config.judge_backend is None:
        return generator
    backend = config.judge_backend or config.backend
    base_url = config.judge_base_url or (config.base_url if backend == "openai" else None)
    options = config.options if backend == config.backend else {}
    return get_generator(
        backend, config.judge_model or config.model, base_url=base_url, store=store, **options
    )


def _report(task: str, generator: Generator, **fields) -> SynthReport:
    return SynthReport(
        task=task,
        backend=generator.backend,
        model=generator.model,
        n_input=0,
        n_considered=0,
        **fields,
    )


def _teacher(records, existing, generator, judge, config, store, flagged, progress):
    if config.verifier:
        return _verified_teacher(records, existing, generator, config, flagged, progress)
    made, drops, selected = teacher_answers(
        records, generator, config, flagged=flagged, progress=progress
    )
    kept, screened = screen(made, existing, config)
    drops += screened
    report = _report(
        "teacher",
        generator,
        templates={"teacher": _version(made)},
        n_generated=sum(selected.values()),
        n_kept=len(kept),
        dropped=count_reasons(drops),
        selected=selected,
    )
    return SynthResult(_frame(kept), empty_frame(), drops, report)


def _diversify(records, existing, generator, judge, config, store, flagged, progress):
    made, drops, by_style = diversify_prompts(records, generator, config, progress=progress)
    kept, screened = screen(made, existing, config, on="prompt")
    drops += screened
    n_generated = len(made) + sum(
        d.reason in ("empty_generation", "truncated_generation", "unchanged_prompt") for d in drops
    )
    report = _report(
        "diversify",
        generator,
        templates={"diversify": _version(made)},
        n_generated=n_generated,
        n_kept=len(kept),
        dropped=count_reasons(drops),
        by_style=by_style,
    )
    return SynthResult(_frame(kept), empty_frame(), drops, report)


def _negatives(records, existing, generator, judge, config, store, flagged, progress):
    if config.verifier:
        return _verified_negatives(records, existing, generator, config, progress)
    pairs, drops, by_type = negative_pairs(records, generator, config, progress=progress)
    judge = judge or (_judge(config, store, generator) if config.judge else None)
    verified, rejected, figures = verify_pairs(pairs, judge, config, progress=progress)
    kept, screened = screen(verified, existing, config, quality_side="rejected")
    fixes: list = []
    fix_drops: list[Drop] = []
    if config.corrections and kept:
        fixes, fix_drops = corrections(kept, generator, config, progress=progress)
        fixes, more = screen(fixes, existing, config)
        fix_drops += more
    drops += (
        rejected
        + screened
        + [Drop(d.source_id, f"correction_{d.reason}", d.detail) for d in fix_drops]
    )
    kept_types: dict[str, int] = {}
    for p in kept:
        kept_types[p.meta["synth"]["error_type"]] = (
            kept_types.get(p.meta["synth"]["error_type"], 0) + 1
        )
    report = _report(
        "negatives",
        generator,
        judge_model=judge.model if judge else None,
        templates={
            p.meta["synth"]["template"].split("@")[0]: p.meta["synth"]["template"].split("@")[1]
            for p in pairs
        },
        n_generated=sum(by_type.values())
        + sum(d.reason in ("empty_generation", "truncated_generation") for d in drops),
        n_kept=len(kept),
        n_corrections=len(fixes),
        dropped=count_reasons(drops),
        by_error_type={
            e: {"generated": n, "kept": kept_types.get(e, 0)} for e, n in by_type.items()
        },
        verification=figures,
    )
    return SynthResult(_frame(kept), _frame(fixes), drops, report)


def _verified_teacher(records, existing, generator, config, flagged, progress):
    made, drops, selected, verified, rows = verified_teacher_answers(
        records, generator, config, flagged=flagged, progress=progress
    )
    kept, screened = screen(made, existing, config)
    screened_fates(verified, made, screened)
    report = _report(
        "teacher",
        generator,
        templates={"teacher": _version(made)},
        n_generated=len(verified) * config.samples,
        n_kept=len(kept),
        dropped=count_reasons(drops + screened),
        selected=selected,
        sampling=summarize(config, verified, rows),
    )
    return SynthResult(_frame(kept), empty_frame(), drops + screened, report)


def _verified_negatives(records, existing, generator, config, progress):
    verified, drops, rows = verified_samples(
        records, [r.prompt for r in records], generator, config, stage="samples", progress=progress
    )
    pairs, more = verified_pairs(verified, generator, config)
    kept, screened = screen(pairs, existing, config, quality_side="rejected")
    screened_fates(verified, pairs, screened)
    fixes: list = []
    fix_drops: list[Drop] = []
    if config.corrections and kept:
        # Against each other only: a correction is built on its input row by design.
        fixes, fix_drops = screen(verified_corrections(kept), existing.clear(), config)
    drops += (
        more + screened + [Drop(d.source_id, f"correction_{d.reason}", d.detail) for d in fix_drops]
    )
    sampling = summarize(config, verified, rows, pairs=kept)
    report = _report(
        "negatives",
        generator,
        n_generated=len(verified) * config.samples,
        n_kept=len(kept),
        n_corrections=len(fixes),
        dropped=count_reasons(drops),
        sampling=sampling,
    )
    return SynthResult(_frame(kept), _frame(fixes), drops, report)


_TASKS = {"teacher": _teacher, "diversify": _diversify, "negatives": _negatives}


def _frame(records: list) -> pl.DataFrame:
    return to_frame(records) if records else empty_frame()


def _version(records: list) -> str:
    return records[0].meta["synth"]["template"].split("@")[1] if records else ""


def _cache_figures(*generators: Generator | None) -> dict[str, int]:
    seen = {id(g): g for g in generators if isinstance(g, CachedGenerator)}
    return {
        "hits": sum(g.hits for g in seen.values()),
        "misses": sum(g.misses for g in seen.values()),
    }
