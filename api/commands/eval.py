"""``tunesmith eval run|compare|mine|blind`` and ``tunesmith gate``: thin over ``evalsuite``.

``gate`` returns its own exit codes: 0 pass, 1 fail, 2 inconclusive (1 with
``--fail-on-inconclusive``), 3 manifest mismatch, 4 usage or infrastructure error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

import evalsuite
from curate import SamplingParams, TunesmithError

EXIT = {"pass": 0, "fail": 1, "inconclusive": 2}
EXIT_MISMATCH = 3
EXIT_ERROR = 4


@click.group("eval")
def eval_group() -> None:
    """Evaluate base and tuned models on a suite, compare them, mine failures, blind tests."""


def _store(no_cache: bool) -> Any:
    if no_cache:
        return None
    from curate import Store

    return Store()


@eval_group.command("run")
@click.option(
    "--suite",
    "suite_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Suite file (JSONL, YAML or JSON).",
)
@click.option("--model", required=True, help="Model alias, folder, hub id or served name.")
@click.option("--adapter", help="LoRA adapter folder (tuned run).")
@click.option(
    "--backend",
    default="transformers",
    show_default=True,
    help="Generator backend: transformers, openai or vllm.",
)
@click.option("--base-url", help="Server URL for the openai backend.")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for run.json and manifest.json.",
)
@click.option("--max-tokens", default=256, show_default=True, help="New tokens per answer.")
@click.option("--probe", help="Perplexity probe texts (.txt or .jsonl; default: shipped set).")
@click.option("--no-probe", is_flag=True, help="Skip perplexity.")
@click.option(
    "--probes",
    default="",
    help="Capability probes to run beside the suite, comma-separated: ifeval, refusal "
    "(slices probe:<name>; the gate's default policy guards them).",
)
@click.option("--judge-model", help="Judge model for judge checks.")
@click.option("--judge-backend", default="transformers", show_default=True)
@click.option("--batch-size", type=int, help="Generation batch size (local backends).")
@click.option("--no-cache", is_flag=True, help="Do not use the store's generation cache.")
def run_cmd(
    suite_path: str,
    model: str,
    adapter: str | None,
    backend: str,
    base_url: str | None,
    out_dir: str,
    max_tokens: int,
    probe: str | None,
    no_probe: bool,
    probes: str,
    judge_model: str | None,
    judge_backend: str,
    batch_size: int | None,
    no_cache: bool,
) -> None:
    """Answer and score every case of a suite with one model (greedy)."""
    config = evalsuite.EvalConfig(
        probes=tuple(p.strip() for p in probes.split(",") if p.strip()),
        backend=backend,
        base_url=base_url,
        backend_options={"batch_size": batch_size} if batch_size else {},
        params=SamplingParams(temperature=0.0, max_tokens=max_tokens),
        probe=False if no_probe else (probe or True),
        judge=evalsuite.EvalJudgeConfig(model=judge_model, backend=judge_backend)
        if judge_model
        else None,
    )
    store = _store(no_cache)
    try:
        result = evalsuite.run(suite_path, model, adapter=adapter, config=config, store=store)
    finally:
        if store is not None:
            store.close()
    evalsuite.save_run(result, out_dir)
    summary = result.summary()
    click.echo(f"run of {len(result.cases)} cases -> {out_dir}  ({result.cached} from cache)")
    for name in ("pass", "format_pass", "substance_pass", "health:truncated"):
        if name in summary:
            click.echo(f"  {name:<18} {summary[name]:.3f}")
    if result.perplexity:
        click.echo(f"  probe perplexity   {result.perplexity.perplexity:.2f}")
    for reason, count in result.skipped.items():
        click.echo(f"  skipped {reason}: {count}")


@eval_group.command("compare")
@click.argument("base_dir", type=click.Path(exists=True))
@click.argument("tuned_dir", type=click.Path(exists=True))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Compare despite blocking manifest differences.")
@click.option("--confidence", default=0.95, show_default=True)
@click.option("--n-boot", default=2000, show_default=True, help="Bootstrap resamples.")
@click.option("--judge-model", help="Blind pairwise judge (both orders).")
@click.option("--judge-backend", default="transformers", show_default=True)
def compare_cmd(
    base_dir: str,
    tuned_dir: str,
    out_dir: str,
    force: bool,
    confidence: float,
    n_boot: int,
    judge_model: str | None,
    judge_backend: str,
) -> int:
    """Compare two runs case by case; writes comparison.json, report.md and report.html.

    Exits 3 when the runs' manifests differ in suite, prompts, generation parameters, judge or
    probe texts (unless --force).
    """
    base, tuned = evalsuite.load_run(base_dir), evalsuite.load_run(tuned_dir)
    judge = judge_gen = None
    if judge_model:
        from curate import get_generator

        judge = evalsuite.EvalJudgeConfig(model=judge_model, backend=judge_backend)
        judge_gen = get_generator(judge_backend, judge_model)
    config = evalsuite.CompareConfig(confidence=confidence, n_boot=n_boot)
    try:
        comparison = evalsuite.compare(
            base, tuned, config=config, force=force, judge_generator=judge_gen, judge=judge
        )
    except evalsuite.ManifestMismatch as e:
        click.echo(f"error: {e}", err=True)
        for d in e.diffs:
            flag = "BLOCKING" if d.blocking else "note"
            click.echo(f"  {flag:<8} {d.field}: {_short(d.base)} != {_short(d.tuned)}", err=True)
        return EXIT_MISMATCH
    evalsuite.write_comparison_reports(comparison, out_dir)
    click.echo(evalsuite.markdown(comparison))
    return 0


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) < 60 else text[:57] + "..."


class _GateCommand(click.Command):
    """A command whose usage errors exit 4, since 2 means "inconclusive" for the gate."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:
            e.exit_code = EXIT_ERROR  # type: ignore[misc]
            raise


@click.command("gate", cls=_GateCommand)
@click.argument("compare_dir", type=click.Path())
@click.option(
    "--policy",
    "policy_path",
    required=True,
    type=click.Path(),
    help="Gate policy (TOML, YAML or JSON), e.g. data/policies/default.toml.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Where gate.json, gate.md, junit.xml and report.html go (default: COMPARE_DIR).",
)
@click.option("--fail-on-inconclusive", is_flag=True, help="Exit 1 instead of 2 when inconclusive.")
@click.option("--quiet", is_flag=True, help="Print only the verdict.")
def gate_cmd(
    compare_dir: str, policy_path: str, out_dir: str | None, fail_on_inconclusive: bool, quiet: bool
) -> int:
    """Gate a comparison with a policy. Exit 0 pass, 1 fail, 2 inconclusive, 3 manifest
    mismatch, 4 usage or infrastructure error."""
    try:
        comparison = evalsuite.load_comparison(compare_dir)
        policy = evalsuite.load_policy(policy_path)
        decision = evalsuite.gate(comparison, policy)
        evalsuite.write_gate_reports(decision, comparison, out_dir or compare_dir)
    except (TunesmithError, OSError, ValueError) as e:
        click.echo(f"error: {e}", err=True)
        return EXIT_ERROR
    click.echo(decision.verdict if quiet else evalsuite.markdown(comparison, decision))
    if decision.manifest_mismatch:
        click.echo(
            "manifest mismatch: the comparison was forced over blocking differences", err=True
        )
        return EXIT_MISMATCH
    if decision.verdict == "inconclusive" and fail_on_inconclusive:
        return EXIT["fail"]
    return EXIT[decision.verdict]


@eval_group.command("rank")
@click.option(
    "--suite",
    "suite_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Suite file (JSONL, YAML or JSON): the user's own edge cases.",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    required=True,
    help="A candidate: MODEL or MODEL@ADAPTER (repeat, at least two).",
)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option(
    "--probes",
    default="ifeval,refusal",
    show_default=True,
    help="Capability probes run beside the suite (comma-separated; empty for none).",
)
@click.option("--margin", default=0.05, show_default=True, help="Non-inferiority margin.")
@click.option("--max-tokens", default=256, show_default=True, help="New tokens per answer.")
@click.option("--backend", default="transformers", show_default=True)
@click.option("--base-url", help="Server URL for the openai backend.")
def rank_cmd(
    suite_path: str,
    models: tuple[str, ...],
    out_dir: str,
    probes: str,
    margin: float,
    max_tokens: int,
    backend: str,
    base_url: str | None,
) -> None:
    """Rank candidate bases on a suite and the capability probes: scores, paired comparisons,
    cost on this hardware, and a recommendation (writes rank.json, rank.md, rank.html)."""
    config = evalsuite.EvalConfig(
        backend=backend,
        base_url=base_url,
        params=SamplingParams(temperature=0.0, max_tokens=max_tokens),
        probes=tuple(p.strip() for p in probes.split(",") if p.strip()),
    )
    result = evalsuite.rank(suite_path, list(models), out_dir=out_dir, config=config, margin=margin)
    for s in result.standings:
        score = s.scores.get(result.metric, 0.0)
        tps = "?" if s.cost.tokens_per_s is None else f"{s.cost.tokens_per_s:.1f}"
        params = "?" if s.cost.parameters is None else f"{s.cost.parameters / 1e6:.0f}M"
        click.echo(
            f"  {s.candidate.name:<28} {result.metric} {score:.3f}  {params} params  "
            f"{tps} tok/s  {s.cost.peak_rss_mb:.0f} MiB"
        )
    click.echo(f"recommended: {result.recommendation}")
    for reason in result.reasons:
        click.echo(f"  - {reason}")
    click.echo(f"report: {Path(out_dir) / 'rank.html'}")


@eval_group.command("mine")
@click.option(
    "--pool",
    required=True,
    type=click.Path(dir_okay=False),
    help="JSONL of prompts with references (e.g. GSM8K question/ground_truth).",
)
@click.option("--model", required=True)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The suite file to write (JSONL).",
)
@click.option("--backend", default="transformers", show_default=True)
@click.option("--base-url", help="Server URL for the openai backend.")
@click.option(
    "--check",
    type=click.Choice(["auto", "numeric", "exact", "contains", "rouge_l"]),
    default="auto",
    show_default=True,
    help="How a failure is judged.",
)
@click.option("--limit", type=int, help="Pool rows to read at most.")
@click.option("--offset", default=0, show_default=True, help="Pool lines to skip first.")
@click.option("--max-cases", type=int, help="Failed cases to keep at most.")
@click.option("--max-tokens", default=256, show_default=True)
@click.option("--no-cache", is_flag=True)
def mine_cmd(
    pool: str,
    model: str,
    out_path: str,
    backend: str,
    base_url: str | None,
    check: str,
    limit: int | None,
    offset: int,
    max_cases: int | None,
    max_tokens: int,
    no_cache: bool,
) -> None:
    """Run the base model over a pool and write the cases it fails as a suite."""
    store = _store(no_cache)
    try:
        result = evalsuite.mine(
            pool,
            model,
            backend=backend,
            base_url=base_url,
            check=check,  # type: ignore[arg-type]
            params=SamplingParams(temperature=0.0, max_tokens=max_tokens),
            offset=offset,
            limit=limit,
            max_cases=max_cases,
            store=store,
        )
    finally:
        if store is not None:
            store.close()
    click.echo(
        f"pool rows {result.pool_rows}: evaluated {result.evaluated}, "
        f"passed {result.passed}, failed {result.failed}"
    )
    for reason, count in {**result.skipped, **result.failing_checks}.items():
        click.echo(f"  {reason}: {count}")
    if result.suite is None:
        click.echo("the model failed no case: no suite written")
        return
    evalsuite.save_suite(result.suite, out_path)
    click.echo(f"wrote {len(result.suite.cases)} cases -> {out_path}")


@eval_group.group("blind")
def blind() -> None:
    """Human blind A/B tests: export a sheet with hidden labels, import the verdicts."""


@blind.command("export")
@click.argument("compare_dir", type=click.Path(exists=True))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--seed", default=0, show_default=True, help="Seeds the hidden A/B order.")
def blind_export(compare_dir: str, out_dir: str, seed: int) -> None:
    """Write sheet.csv, sheet.html (for raters) and key.json (keep it from the raters)."""
    files = evalsuite.export_blind(evalsuite.load_comparison(compare_dir), out_dir, seed=seed)
    click.echo("wrote " + ", ".join(str(f) for f in files))


@blind.command("import")
@click.argument("sheet", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--comparison",
    "compare_dir",
    type=click.Path(exists=True),
    help="The comparison whose judge verdicts to measure agreement with.",
)
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Write the result JSON.")
def blind_import(sheet: str, key: str, compare_dir: str | None, out_path: str | None) -> None:
    """Read the raters' verdicts; report win/tie/loss and Cohen's kappa against the judge."""
    comparison = evalsuite.load_comparison(compare_dir) if compare_dir else None
    result = evalsuite.import_blind(sheet, key, comparison)
    if out_path:
        Path(out_path).write_text(result.model_dump_json(indent=1), encoding="utf-8")
    click.echo(
        f"rated {result.rated}/{result.items}: tuned wins {result.tuned_wins}, "
        f"ties {result.ties}, base wins {result.base_wins}"
    )
    for reason, count in result.skipped.items():
        click.echo(f"  skipped {reason}: {count}")
    if result.judge_overlap:
        kappa = "undefined" if result.judge_kappa is None else f"{result.judge_kappa:.3f}"
        click.echo(
            f"judge vs raters on {result.judge_overlap} items: agreement "
            f"{result.judge_agreement:.0%}, Cohen's kappa {kappa}"
        )
