"""``tunesmith train`` (a run, or its pre-flight with ``--check``) and ``tunesmith train merge``."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

import click

import train as train_lib


def progress_bar():
    """A tqdm bar fed by the run's progress events, and the callable that feeds it."""
    from tqdm import tqdm

    bar = tqdm(desc="training", unit=" step", disable=None, file=sys.stderr)

    def on_event(event: train_lib.TrainEvent) -> None:
        bar.total = event.max_steps or bar.total
        if event.kind == "log" and "loss" in event.metrics:
            bar.update(event.step - bar.n)
            bar.set_postfix(loss=f"{event.metrics['loss']:.4f}", refresh=False)
        elif event.kind == "eval" and "eval_loss" in event.metrics:
            bar.write(f"step {event.step}: held-out loss {event.metrics['eval_loss']:.4f}")
        elif event.kind == "stopped":
            bar.write(event.message)

    return bar, on_event


def _stop_on_first_interrupt() -> tuple[threading.Event, Any]:
    """Ctrl-C once: checkpoint and stop cleanly (resume later); twice: abort at once.

    Returns the stop signal and the previous SIGINT handler (to restore after the run).
    """
    stop = threading.Event()

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        click.echo(
            "\nstopping after this step (a checkpoint is saved); Ctrl-C again to abort", err=True
        )

    return stop, signal.signal(signal.SIGINT, handler)


@click.group("train", invoke_without_command=True)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="TrainConfig file (TOML or JSON).",
)
@click.option("--dataset", help="Dataset file to train on (overrides the config's).")
@click.option("--out", help="Output folder (overrides the config's output_dir).")
@click.option("--preset", help="Family preset filling unset fields (smollm, qwen, llama, ...).")
@click.option("--max-steps", type=int, help="Override the number of optimizer steps.")
@click.option("--check", is_flag=True, help="Run the pre-flight only and print its report.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def train_cmd(
    ctx: click.Context,
    config_path: str | None,
    dataset: str | None,
    out: str | None,
    preset: str | None,
    max_steps: int | None,
    check: bool,
    as_json: bool,
) -> None:
    """Tune a model (LoRA, QLoRA or full; SFT or DPO) after a pre-flight check.

    \b
    tunesmith train --config run.toml [--dataset D] [--out DIR] [--preset P]
    tunesmith train merge ADAPTER_DIR --out DIR
    """
    if ctx.invoked_subcommand is not None:
        return
    if config_path is None:
        raise click.UsageError("--config is required (or use: tunesmith train merge ...)")
    config = train_lib.load_config(config_path).with_overrides(
        dataset=dataset, output_dir=out, preset=preset, max_steps=max_steps
    )
    if check:
        report = train_lib.preflight(config.dataset, config) if config.dataset else None
        if report is None:
            raise click.UsageError("no dataset: pass --dataset or set dataset in the config")
        _print_report(report, as_json)
        sys.exit(0 if report.ok else 2)
    bar, on_event = progress_bar()
    stop, previous_handler = _stop_on_first_interrupt()
    try:
        result = train_lib.run(None, config, progress=on_event, stop=stop)
    finally:
        bar.close()
        signal.signal(signal.SIGINT, previous_handler)
    if as_json:
        click.echo(result.model_dump_json(indent=2))
    else:
        for warning in result.preflight.warnings:
            click.echo(f"warning: {warning}", err=True)
        click.echo(
            f"{result.status}: {result.steps} steps"
            + (f" ({result.stop_reason})" if result.stop_reason else "")
        )
        click.echo(f"  adapter  {result.adapter_dir or '(not saved: the run diverged)'}")
        click.echo(f"  card     {result.card_path}")
        click.echo(f"  metrics  {result.metrics_path}")
        for key, value in result.metrics.items():
            click.echo(f"  {key:<24} {value:.4g}")
    if result.status == "diverged":
        sys.exit(1)


def _print_report(report: train_lib.PreflightReport, as_json: bool) -> None:
    if as_json:
        click.echo(report.model_dump_json(indent=2))
        return
    click.echo(
        f"pre-flight {'ok' if report.ok else 'FAILED'}: {report.method}, "
        f"{report.n_train} train / {report.n_eval} held out, "
        f"~{report.estimated_steps} steps, ~{report.estimated_memory_gb} GB on {report.device}"
    )
    click.echo(
        f"  tokens: max {report.max_tokens}, mean {report.mean_tokens}; "
        f"over max_length: {report.over_max_length}"
    )
    for error in report.errors:
        click.echo(f"error: {error}")
    for warning in report.warnings:
        click.echo(f"warning: {warning}")
    click.echo("one example, trained tokens in ⟦⟧:\n" + report.debug_view)


@train_cmd.command("merge")
@click.argument("adapter_dir", type=click.Path(file_okay=False))
@click.option("--out", required=True, help="Folder for the merged model.")
@click.option("--prompt", "prompts", multiple=True, help="Parity-check prompt (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def merge_cmd(adapter_dir: str, out: str, prompts: tuple[str, ...], as_json: bool) -> None:
    """Merge a LoRA adapter into its base; check greedy parity with the adapter on the base."""
    result = train_lib.merge(adapter_dir, out, prompts=list(prompts) or None)
    if as_json:
        click.echo(result.model_dump_json(indent=2))
    else:
        same = sum(p.same for p in result.prompts)
        click.echo(
            f"merged into {result.output_dir}: parity {'ok' if result.parity_ok else 'FAILED'} "
            f"({same}/{len(result.prompts)} prompts identical), "
            f"max |Δ log p| {result.max_logprob_diff:.2e}"
        )
    if not result.parity_ok:
        sys.exit(1)


@train_cmd.command("sweep")
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="TrainConfig file (TOML or JSON): what every point starts from.",
)
@click.option(
    "--grid",
    "grids",
    multiple=True,
    required=True,
    help="FIELD=V1,V2,... (learning_rate or lr, rank or r, epochs, alpha, max_steps, ...).",
)
@click.option(
    "--suite",
    "suite_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The held-out suite each point is gated on.",
)
@click.option("--dataset", help="Dataset file to train on (overrides the config's).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option(
    "--probes",
    default="ifeval,refusal",
    show_default=True,
    help="Capability probes for the forgetting guard (comma-separated: ifeval, refusal, and "
    "mt_bench for MT-Bench questions judged pairwise; empty for none).",
)
@click.option("--policy", type=click.Path(dir_okay=False), help="Gate policy (default: shipped).")
@click.option("--max-tokens", default=256, show_default=True, help="New tokens per answer.")
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: the points one after another; ray: one Ray task per point.",
)
@click.option("--ray-address", help="The Ray cluster to join (default: start a local one).")
def sweep_cmd(
    config_path: str,
    grids: tuple[str, ...],
    suite_path: str,
    dataset: str | None,
    out_dir: str,
    probes: str,
    policy: str | None,
    max_tokens: int,
    executor: str,
    ray_address: str | None,
) -> None:
    """Train every point of a small grid, gate each against the base on the suite and the
    probes, and pick the best point that passes (resumable; writes sweep.json/.md/.html)."""
    import evalsuite
    from api.sweep import SweepExecutor, parse_grid, sweep
    from curate import ConfigError, SamplingParams

    config = train_lib.load_config(config_path)
    eval_config = evalsuite.EvalConfig(
        params=SamplingParams(temperature=0.0, max_tokens=max_tokens)
    )

    def announce(name: str, index: int, total: int) -> None:
        click.echo(f"point {index + 1}/{total}: {name}", err=True)

    if ray_address and executor != "ray":
        raise ConfigError("--ray-address: only with --executor ray")
    result = sweep(
        dataset,
        config,
        parse_grid(list(grids)),
        suite=suite_path,
        out_dir=out_dir,
        probes=tuple(p.strip() for p in probes.split(",") if p.strip()),
        policy=policy,
        eval_config=eval_config,
        progress=announce,
        executor=SweepExecutor(kind=executor, address=ray_address),  # type: ignore[arg-type]
    )
    for p in result.points:
        gain = "" if p.gain is None else f"gain {p.gain:+.3f}"
        forget = "" if p.forgetting is None else f"forgetting {p.forgetting:.3f}"
        click.echo(f"  {p.name:<40} {p.status:<10} gate {p.gate or '-':<13} {gain}  {forget}")
    click.echo(f"best: {result.best or 'none'} — {result.reason}")
