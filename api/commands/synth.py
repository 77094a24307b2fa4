"""``tunesmith synth teacher|diversify|negatives``: synthesise with a teacher model.

Resumable: every generation is cached in the store, so rerunning an interrupted command continues
where it stopped (the finished part comes from the cache).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

import curate
from curate import ConfigError


def _options(fn: Callable[..., Any]) -> Callable[..., Any]:
    decorators = [
        click.option(
            "--input",
            "input_",
            required=True,
            metavar="PATH|DATASET",
            help="A dataset file, or a stored dataset's id or name.",
        ),
        click.option(
            "--backend",
            type=click.Choice(["transformers", "openai", "vllm", "ray"]),
            default=None,
            help="Generator backend (default: transformers); ray runs an inner backend on a Ray "
            "actor pool, set in --config: options = {inner, concurrency, num_gpus, address}.",
        ),
        click.option(
            "--model",
            default=None,
            help="Teacher model: alias, folder, hub id or served name (default smollm2-135m).",
        ),
        click.option("--base-url", default=None, help="openai backend: the server's URL (…/v1)."),
        click.option(
            "--out",
            "out_dir",
            required=True,
            type=click.Path(file_okay=False),
            help="Output folder (records.jsonl, dropped.jsonl, report.json).",
        ),
        click.option("--limit", type=int, default=None, help="Only the first N records."),
        click.option(
            "--max-tokens", type=int, default=None, help="Most new tokens per generation."
        ),
        click.option("--seed", type=int, default=None, help="Sampling seed."),
        click.option("--judge-model", default=None, help="negatives: the judge model."),
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, exists=True),
            help="A TOML or JSON SynthConfig file; flags override it.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print the report as JSON."),
    ]
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


def _sampling_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--samples`` and ``--verifier``: rejection sampling (teacher and negatives)."""
    fn = click.option(
        "--verifier",
        type=click.Choice(sorted(curate.VERIFIERS)),
        default=None,
        help="Verify sampled answers against each record's reference (no judge).",
    )(fn)
    return click.option(
        "--samples",
        type=int,
        default=None,
        metavar="K",
        help="With --verifier: answers sampled per prompt (default 1).",
    )(fn)


def _config(path: str | None, flags: dict[str, Any]) -> curate.SynthConfig:
    data: dict[str, Any] = {}
    if path:
        text = Path(path).read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text) if path.endswith(".toml") else json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
            raise ConfigError(f"{path}: {e}") from e
    data.update({k: v for k, v in flags.items() if v is not None})
    try:
        return curate.SynthConfig(**data)
    except ValidationError as e:
        raise ConfigError(f"{path or 'options'}: {e}") from e


def _run(
    task: str,
    input_: str,
    out_dir: str,
    as_json: bool,
    config_path: str | None,
    findings: str | None = None,
    **flags: Any,
) -> None:
    config = _config(config_path, flags)
    flagged = _flagged(findings) if findings else None
    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if as_json:
            return
        from tqdm import tqdm

        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="gen", leave=True)
        bar.update(done - bar.n)

    try:
        result = curate.synthesize(
            task,  # type: ignore[arg-type]
            input_,
            config,
            out_dir=out_dir,
            flagged=flagged,
            progress=progress,
        )
    finally:
        for bar in bars.values():
            bar.close()
    report = result.report
    if as_json:
        click.echo(report.model_dump_json(indent=2))
        return
    click.echo(
        f"synth {task}: {report.n_considered} records -> {report.n_generated} generated, "
        f"{report.n_kept} kept"
        + (f", {report.n_corrections} corrections" if task == "negatives" else "")
    )
    for reason, n in report.dropped.items():
        click.echo(f"    dropped {reason}: {n}")
    if report.sampling is not None:
        s = report.sampling
        click.echo(
            f"  {s.verifier} verifier, k={s.samples}: pass@k {s.pass_at_k} over {s.prompts} "
            f"prompts (pass@1 {s.pass_at_1}); outcomes {s.outcomes}"
        )
        if task == "negatives":
            click.echo(
                f"  pairs per prompt {s.pairs_per_prompt}; chosen longer in {s.chosen_longer} "
                f"of pairs (mean chars chosen {s.mean_chosen_chars}, rejected "
                f"{s.mean_rejected_chars}); chosen from the reference: {s.chosen_from_reference}"
            )
    if report.verification is not None:
        v = report.verification
        click.echo(
            f"  judge: {v.consistent}/{v.judged} consistent across the position swap; "
            f"chosen longer in {v.chosen_longer_kept} of kept pairs"
        )
    click.echo(
        f"  cache: {report.cache.get('hits', 0)} hits, {report.cache.get('misses', 0)} "
        f"generated; outputs in {out_dir}"
    )


@click.group("synth")
def synth() -> None:
    """Synthesise training data with a teacher model (cached, resumable)."""


def _flagged(path: str) -> set[str]:
    """Record ids with a finding in a curation run's ``findings.parquet``."""
    import polars as pl

    try:
        return set(pl.read_parquet(path, columns=["record_id"])["record_id"].to_list())
    except Exception as e:  # a wrong file: say which, in one line
        raise ConfigError(f"{path}: not a findings.parquet from tunesmith curate ({e})") from e


@synth.command("teacher")
@_options
@_sampling_options
@click.option(
    "--findings",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="A curation run's findings.parquet: its flagged records get new answers.",
)
def teacher(**kwargs: Any) -> None:
    """Teacher answers for prompts with missing or weak answers (original kept in meta.synth).

    With --verifier (and --samples K): the shortest verified-correct of k sampled answers.
    """
    _run("teacher", **kwargs)


@synth.command("diversify")
@_options
def diversify(**kwargs: Any) -> None:
    """Rewrite prompts into varied phrasings; rewrites are deduplicated against the originals."""
    _run("diversify", **kwargs)


@synth.command("negatives")
@_options
@_sampling_options
def negatives(**kwargs: Any) -> None:
    """Verified preference pairs with named error types, and error-then-correction examples.

    With --verifier (and --samples K): the model's own answers, k per prompt, checked by the
    verifier; a verified-wrong sample is the rejected side, no judge asked.
    """
    _run("negatives", **kwargs)
