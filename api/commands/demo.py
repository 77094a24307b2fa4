"""``tunesmith demo``: the whole lifecycle on the built-in defaults."""

from __future__ import annotations

import click

from api.commands import train as train_commands
from api.demo import load_demo_config, run_demo


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="A demo config (default: the shipped demo/demo.toml).",
)
@click.option("--out", "out_dir", help="Where the artifacts go (default: ./tunesmith-demo).")
@click.option("--data-dir", help="The folder of real public data (default: ../shared/data).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def demo(config_path: str | None, out_dir: str | None, data_dir: str | None, as_json: bool) -> int:
    """Curate real data, synthesize, mine a suite, tune, evaluate and gate — on the CPU.

    Exits 0 once the lifecycle has run to the end, whatever the verdict (it is printed; for a
    CI exit code from a verdict, use `tunesmith gate`).
    """
    config = load_demo_config(config_path, out_dir=out_dir, data_dir=data_dir)
    bars: list = []  # the training bar opens when training starts, not before

    def on_event(event: object) -> None:
        if not bars:
            bars.extend(train_commands.progress_bar())
        bars[1](event)

    try:
        result = run_demo(config, say=click.echo, train_progress=on_event)
    finally:
        if bars:
            bars[0].close()
    if as_json:
        click.echo(result.model_dump_json(indent=2))
    else:
        click.echo("\nWhere everything is:")
        click.echo(f"  audit report       {result.audit_report}")
        for report in result.synthesis_reports:
            click.echo(f"  synthesis report   {report}")
        click.echo(f"  edge-case suite    {result.suite}")
        click.echo(f"  adapter            {result.adapter}")
        click.echo(
            f"  trained on         {result.trained_on.get('curated', 0)} curated records, "
            f"{result.trained_on.get('teacher', 0)} verified teacher examples (SFT), "
            f"{result.trained_on.get('pairs', 0)} verified pairs (DPO)"
        )
        click.echo(f"  comparison report  {result.comparison_report}")
        click.echo(f"  gate verdict       {result.gate_report}")
        click.echo(f"  seconds per stage  {result.timings}")
        click.echo(f"\nGate verdict: {result.verdict.upper()}")
        for reason in result.reasons:
            click.echo(f"  - {reason}")
    return 0
