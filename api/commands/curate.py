"""``tunesmith curate``: run the curation pipeline on a file or a stored dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

import curate


@click.command("curate")
@click.argument("source", metavar="PATH|DATASET")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="A TOML or JSON CurateConfig file.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Output folder (default: the store's runs/<run id>).",
)
@click.option(
    "--eval-set",
    type=click.Path(dir_okay=False),
    help="An eval set to check for train/eval leakage.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default=None,
    help="Where the steps run (default: the config's, else local).",
)
@click.option(
    "--ray-address",
    default=None,
    help="Ray cluster to join (ray://host:10001, auto); default: a local instance.",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Ray executor: folder for resumable stage outputs.",
)
def curate_cmd(
    source: str,
    config_path: str | None,
    out_dir: str | None,
    eval_set: str | None,
    as_json: bool,
    executor: str | None,
    ray_address: str | None,
    work_dir: str | None,
) -> None:
    """Curate a dataset: deduplicate and check it, write the curated set, findings and report."""
    config = curate.CurateConfig.from_file(config_path) if config_path else curate.CurateConfig()
    given = {"kind": executor, "address": ray_address, "work_dir": work_dir}
    if any(v is not None for v in given.values()):
        update = {k: v for k, v in given.items() if v is not None}
        if ray_address and not executor:
            update["kind"] = "ray"
        config = config.model_copy(update={"executor": config.executor.model_copy(update=update)})
    bar = _Bar(enabled=not as_json)
    try:
        result = curate.run(source, config, out_dir=out_dir, eval_set=eval_set, progress=bar.update)
    finally:
        bar.close()
    if as_json:
        click.echo(result.model_dump_json(indent=2))
        return
    _summary(result)


def _summary(result: curate.CurationResult) -> None:
    click.echo(f"curated {result.input}  (run {result.run_id})")
    click.echo(
        f"  rows {result.n_input_rows:,}: {result.n_rejected:,} rejected, "
        f"{result.n_records:,} records -> {result.n_kept:,} kept, "
        f"{result.n_dropped:,} dropped"
    )
    for title, counts in (
        ("rejected", result.rejected_by_reason),
        ("dropped", result.dropped_by_reason),
    ):
        for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            click.echo(f"    {title} {reason}: {n:,}")
    review = {
        k: v for k, v in result.findings_by_reason.items() if k not in result.dropped_by_reason
    }
    if review:
        click.echo(
            "  flagged (review/info): "
            + ", ".join(
                f"{k} {v:,}" for k, v in sorted(review.items(), key=lambda kv: (-kv[1], kv[0]))
            )
        )
    if result.verdict is not None:
        click.echo(f"  verdict: {result.verdict.verdict}")
        for reason in result.verdict.reasons:
            click.echo(f"    - {reason.split('. ')[0]}")
    click.echo(f"  outputs in {Path(result.out_dir or '.')}: " + ", ".join(result.files.values()))


class _Bar:
    """Progress over the pipeline's steps, and over embedding batches while the semantic step
    embeds; tqdm stays quiet when stderr is not a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.kind = ""

    def update(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        kind = "texts" if stage == "embedding" else "steps"
        if self.bar is None or kind != self.kind:
            self.close()
            self.bar, self.kind = (
                tqdm(total=total, unit=f" {kind}", leave=False, disable=None),
                kind,
            )
        self.bar.set_description(stage)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
