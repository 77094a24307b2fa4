"""A gated hyperparameter sweep: a small grid (learning rate × LoRA rank × epochs …), each point
trained, evaluated base against tuned on the held-out suite and the capability probes, and gated
against the base. The best point is the one with the largest gain on the target suite among
those that pass the gate; the report shows the learn/forget trade-off of every point (gain on
the target suite against the worst regression on the probes) as a chart.

Resumable: a point whose ``point.json`` exists is not redone, and a point interrupted mid-run
resumes from its last checkpoint (``train.run`` resumes by itself); the base model's answers
come from the generation cache after the first point. Every point's artifacts are kept under
``<out>/points/<point>/`` (``train/`` and ``eval/``).

``SweepExecutor(kind="ray")`` spreads the points over Ray workers (a cluster, or a local Ray
instance): one task per point, each with ``cpus_per_point`` CPUs, all writing into the same
sweep folder and sharing the one store (its generation cache included; DuckDB opens are
serialised by the store's file lock). The choice and the reports do not depend on where the
points ran.

    result = sweep("data.jsonl", config, {"learning_rate": [1e-4, 3e-4], "rank": [8, 16]},
                   suite="heldout.jsonl", out_dir="sweep")
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from curate import ConfigError, InputError, require
from train import TrainConfig

ALIASES = {"r": "rank", "lr": "learning_rate", "epoch": "epochs"}
"""Short grid names and the config fields they stand for."""

MT_BENCH_QUESTIONS = 20
"""MT-Bench questions a sweep adds when ``mt_bench`` is among its probes (the gate's
``min_samples`` on the default policy)."""

SWEEPABLE = ("learning_rate", "rank", "alpha", "epochs", "max_steps", "batch_size", "dropout")
"""The config fields a grid may vary."""


class SweepExecutor(BaseModel):
    """Where the points of a sweep train: one after another here, or as tasks on Ray."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["local", "ray"] = "local"
    """``local``: the points in order in this process. ``ray``: one Ray task per point."""
    address: str | None = Field(default=None, max_length=200)
    """The Ray cluster to join (``auto``, ``ray://host:10001``); None starts a local instance
    (or reuses the one this process already has)."""
    num_cpus: int | None = Field(default=None, ge=1, le=1024)
    """CPUs of a local Ray instance (None: all of this machine's)."""
    cpus_per_point: int = Field(default=1, ge=1, le=1024)
    """CPUs each point's task asks Ray for; its torch threads are set to match."""

    @model_validator(mode="after")
    def _said_what_applies(self) -> SweepExecutor:
        given = [name for name in ("address", "num_cpus") if getattr(self, name) is not None]
        if self.kind == "local" and given:
            raise ValueError(f"{', '.join(given)}: only for the ray executor")
        if self.address is not None and self.num_cpus is not None:
            raise ValueError("num_cpus: only for a local Ray instance, not with an address")
        return self


class SweepPoint(BaseModel):
    """One point of the grid: its settings, its training, its gate."""

    model_config = ConfigDict(frozen=True)

    name: str
    """``learning_rate=0.0001,rank=8``: the settings, as a folder-safe name."""
    settings: dict[str, Any]
    """The config fields this point sets."""
    status: str
    """The training's status (``completed``, ``diverged``, ``stopped``)."""
    gate: str | None
    """``pass``, ``fail`` or ``inconclusive`` (None when training did not complete)."""
    gate_reasons: list[str] = Field(default_factory=list)
    gain: float | None
    """Improvement of the target metric on the target suite (tuned − base): the gate policy's
    first ``must_improve`` metric on ``all`` (``format_pass`` for a habit), else ``pass``."""
    forgetting: float | None
    """The worst regression on a probe slice (base − tuned on ``pass``, or on the pairwise
    judge's win rate for MT-Bench; 0 when none regress),
    or on perplexity's log scale where no probe suite ran."""
    train_loss: float | None = None
    """The last training loss."""
    folder: str
    """The point's folder (``train/``, ``eval/``, ``point.json``)."""
    ran_on: str | None = None
    """Where the point trained and was evaluated: ``host:pid`` (a Ray worker's, on Ray)."""


class SweepResult(BaseModel):
    """Every point and the choice."""

    model_config = ConfigDict(frozen=True)

    grid: dict[str, list[Any]]
    points: list[SweepPoint]
    best: str | None
    """The chosen point: the largest gain among those the gate passed; None if none passed."""
    reason: str
    target: str = "pass"
    """The metric each point's gain is measured on (``target_metric`` of the policy)."""


def parse_grid(specs: list[str]) -> dict[str, list[Any]]:
    """``["learning_rate=1e-4,3e-4", "r=8,16"]`` to ``{"learning_rate": [...], "rank": [...]}``.

    Raises:
        ConfigError: an unknown field, or a value that is not a number.
    """
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = ALIASES.get(key.strip(), key.strip())
        if not sep or key not in SWEEPABLE:
            raise ConfigError(
                f"--grid {spec!r}: expected FIELD=V1,V2,... with FIELD one of "
                f"{', '.join(SWEEPABLE)} (or r, lr)"
            )
        parsed = []
        for raw in values.split(","):
            try:
                number = float(raw)
            except ValueError:
                raise ConfigError(f"--grid {spec!r}: {raw!r} is not a number") from None
            parsed.append(int(number) if number.is_integer() and key != "learning_rate" else number)
        grid[key] = parsed
    if not grid:
        raise ConfigError("a sweep needs at least one --grid")
    return grid


def points_of(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The grid's points, in order (the cartesian product, first field slowest)."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def check_points(config: TrainConfig, points: list[dict[str, Any]]) -> None:
    """Refuse, before any point trains, a point whose config does not validate (a rank of 8.5,
    a dropout of 2), naming the point.

    Raises:
        ConfigError: a point's config does not validate.
    """
    for settings in points:
        try:
            config.with_overrides(**settings)
        except ConfigError as e:
            raise ConfigError(f"grid point {_name(settings)}: {e}") from e


def _name(settings: dict[str, Any]) -> str:
    return ",".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in settings.items()
    )


def sweep(
    dataset: str | Path | None,
    config: TrainConfig,
    grid: dict[str, list[Any]],
    *,
    suite: Any,
    out_dir: str | Path,
    probes: tuple[str, ...] = ("ifeval", "refusal"),
    policy: Any = None,
    eval_config: Any = None,
    progress: Any = None,
    executor: SweepExecutor | None = None,
    store: Any = None,
    stop: threading.Event | None = None,
) -> SweepResult:
    """Train, evaluate and gate every point of the grid; pick the best point that passes.

    Args:
        dataset: the training data (or None for ``config.dataset``).
        config: the base config each point starts from.
        grid: field → values (``parse_grid``).
        suite: the held-out suite the gate judges on (a path or an ``evalsuite.Suite``).
        out_dir: the sweep's folder.
        probes: capability probes run beside the suite (``evalsuite.probes``), and
            ``mt_bench``: MT-Bench questions judged pairwise, base against tuned.
        policy: a gate policy file or ``evalsuite.GatePolicy``; default: the shipped default.
        eval_config: an ``evalsuite.EvalConfig`` (its ``probes`` are replaced by ``probes``).
        progress: called with (point name, index, number of points) before each point runs
            here, or as each point's Ray task finishes.
        executor: where the points train (default: one after another in this process).
        store: the ``curate.Store`` whose generation cache the evaluations use (default: the
            store of ``TUNESMITH_HOME``).
        stop: set to stop before the next point (the finished points stay finished).

    Raises:
        InputError: an empty grid.
        ConfigError: a point whose config does not validate.
        MissingExtra: the Ray executor without Ray installed.
    """
    import evalsuite
    from curate import Store

    points = points_of(grid)
    if not points:
        raise InputError("the grid has no points")
    check_points(config, points)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if policy is None or isinstance(policy, str | Path):
        policy_obj = evalsuite.load_policy(str(policy) if policy else _default_policy())
    else:
        policy_obj = policy
    eval_cfg = evalsuite.EvalConfig() if eval_config is None else eval_config
    update: dict[str, Any] = {"probes": tuple(p for p in probes if p != "mt_bench")}
    if "mt_bench" in probes:  # MT-Bench is judged pairwise, not checked: a slice of its own
        update["mt_bench"] = eval_cfg.mt_bench or MT_BENCH_QUESTIONS
    eval_cfg = eval_cfg.model_copy(update=update)
    executor = executor or SweepExecutor()
    store = store or Store()
    jobs = [
        PointJob(
            name=_name(settings),
            settings=settings,
            folder=str(out / "points" / _name(settings)),
            dataset=None if dataset is None else str(dataset),
            config=config,
            suite=suite,
            eval_config=eval_cfg,
            policy=policy_obj,
            store=str(store.path),
        )
        for settings in points
    ]
    if executor.kind == "ray":
        results = _on_ray(jobs, executor, progress, stop)
    else:
        results = []
        for i, job in enumerate(jobs):
            if stop is not None and stop.is_set():
                raise InterruptedError(f"stopped before point {job.name}")
            if progress:
                progress(job.name, i, len(jobs))
            results.append(run_point(job, stop))
    best, reason = choose(results)
    result = SweepResult(
        grid=grid, points=results, best=best, reason=reason, target=target_metric(policy_obj)
    )
    write_sweep(result, out)
    return result


class PointJob(BaseModel):
    """Everything one point needs, so that it can run in another process (a Ray task)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    settings: dict[str, Any]
    folder: str
    dataset: str | None
    config: TrainConfig
    suite: Any
    eval_config: Any
    policy: Any
    store: str
    """The store file (its generation cache is shared by every point)."""


def run_point(job: PointJob, stop: threading.Event | None = None) -> SweepPoint:
    """Train, evaluate and gate one point; ``point.json`` marks it done (and is read back).
    ``stop``, when set, makes the training checkpoint and stop (``InterruptedError``)."""
    import train
    from curate import Store

    folder = Path(job.folder)
    done = folder / "point.json"
    if done.is_file():  # resumable: a finished point is not redone
        return SweepPoint.model_validate_json(done.read_text())
    point_config = job.config.with_overrides(**job.settings, output_dir=str(folder / "train"))
    trained = train.run(job.dataset, point_config, stop=stop)
    if trained.status == "stopped":  # by ``stop``: checkpointed, resumed by the next run
        raise InterruptedError(f"stopped while point {job.name} trained")
    with Store(job.store) as store:
        point = _evaluate(
            job.name,
            job.settings,
            trained,
            job.config,
            job.suite,
            folder,
            job.eval_config,
            job.policy,
            store,
        )
    point = point.model_copy(update={"ran_on": f"{socket.gethostname()}:{os.getpid()}"})
    folder.mkdir(parents=True, exist_ok=True)
    done.write_text(point.model_dump_json(indent=2))
    return point


def _ray_point(job: PointJob, threads: int) -> SweepPoint:
    """A point as a Ray task: torch on as many threads as the task has CPUs."""
    import torch

    torch.set_num_threads(threads)
    return run_point(job)


def _on_ray(
    jobs: list[PointJob],
    executor: SweepExecutor,
    progress: Any,
    stop: threading.Event | None,
) -> list[SweepPoint]:
    ray = require("ray", "ray")
    started = False
    if not ray.is_initialized():
        threads = str(executor.cpus_per_point)
        env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        if executor.address:
            ray.init(address=executor.address, log_to_driver=False, runtime_env={"env_vars": env})
        else:
            ray.init(
                num_cpus=executor.num_cpus,
                include_dashboard=False,
                log_to_driver=False,
                runtime_env={"env_vars": env},
            )
        started = True
    try:
        task = ray.remote(num_cpus=executor.cpus_per_point, max_retries=0)(_ray_point)
        refs = {task.remote(job, executor.cpus_per_point): i for i, job in enumerate(jobs)}
        results: list[SweepPoint | None] = [None] * len(jobs)
        pending = list(refs)
        while pending:
            if stop is not None and stop.is_set():
                for ref in pending:
                    ray.cancel(ref, force=True)
                raise InterruptedError("stopped: the unfinished points resume on the next run")
            ready, pending = ray.wait(pending, num_returns=1, timeout=1.0)
            for ref in ready:
                i = refs[ref]
                results[i] = ray.get(ref)
                if progress:
                    progress(jobs[i].name, i, len(jobs))
        return [r for r in results if r is not None]
    finally:
        if started:
            ray.shutdown()


def _default_policy() -> str:
    from importlib import resources

    return str(resources.files("tunesmith_data") / "policies" / "default.toml")


def _evaluate(
    name: str,
    settings: dict[str, Any],
    trained: Any,
    config: TrainConfig,
    suite: str | Path,
    folder: Path,
    eval_cfg: Any,
    policy: Any,
    store: Any,
) -> SweepPoint:
    import evalsuite

    loss = trained.metrics.get("last_loss", trained.metrics.get("loss"))
    if trained.status != "completed" or trained.adapter_dir is None:
        return SweepPoint(
            name=name,
            settings=settings,
            status=trained.status,
            gate=None,
            gain=None,
            forgetting=None,
            train_loss=loss,
            folder=str(folder),
        )
    pair = evalsuite.evaluate_pair(
        suite,
        config.base_model,
        trained.adapter_dir,
        out_dir=folder / "eval",
        config=eval_cfg,
        store=store,
    )
    assert pair.comparison is not None
    decision = evalsuite.gate(pair.comparison, policy)
    gain, forgetting = trade_off(pair.comparison, target_metric(policy))
    return SweepPoint(
        name=name,
        settings=settings,
        status=trained.status,
        gate=decision.verdict,
        gate_reasons=decision.reasons,
        gain=gain,
        forgetting=forgetting,
        train_loss=loss,
        folder=str(folder),
    )


def target_metric(policy: Any) -> str:
    """What a point's gain is measured on: the policy's first ``must_improve`` metric on the
    whole target suite (a habit policy's ``format_pass``), else ``pass``."""
    for rule in policy.must_improve:
        if rule.slice == "all" and not any(c in rule.metric for c in "*?["):
            return str(rule.metric)
    return "pass"


def trade_off(comparison: Any, target: str = "pass") -> tuple[float | None, float | None]:
    """(gain of ``target`` on the target suite, worst regression on a probe slice)."""
    gain = None
    worst = 0.0
    probe_seen = False
    for d in comparison.deltas:
        if d.metric == target and d.slice == "all":
            gain = d.improvement
        elif (
            d.metric in ("pass", "judge:pairwise")
            and d.slice.startswith("probe:")
            and d.slice.count(":") == 1
        ):
            probe_seen = True
            worst = max(worst, -d.improvement)
    if not probe_seen:
        nll = next((d for d in comparison.deltas if d.metric == "probe_nll"), None)
        return gain, None if nll is None else max(0.0, -nll.improvement)
    return gain, worst


def choose(points: list[SweepPoint]) -> tuple[str | None, str]:
    """The best point the gate passed: the largest gain, then the least forgetting."""
    passed = [p for p in points if p.gate == "pass" and p.gain is not None]
    if not passed:
        verdicts = ", ".join(f"{p.name}: {p.gate or p.status}" for p in points)
        return None, f"no point passed the gate ({verdicts})"
    best = max(passed, key=lambda p: (p.gain or 0.0, -(p.forgetting or 0.0)))
    return best.name, (
        f"{best.name} passed the gate with the largest gain on the suite "
        f"({best.gain:+.3f}; worst probe regression {best.forgetting or 0.0:.3f}); "
        f"{len(passed)} of {len(points)} points passed"
    )


def write_sweep(result: SweepResult, out: Path) -> None:
    """``sweep.json``, ``sweep.md`` and ``sweep.html`` (with the learn/forget chart)."""
    (out / "sweep.json").write_text(result.model_dump_json(indent=2) + "\n")
    lines = [
        "# Hyperparameter sweep",
        "",
        f"**Best: {result.best or 'none'}** — {result.reason}",
        "",
        f"| point | status | gate | gain in {result.target} | worst probe regression | last loss |",
        "|---|---|---|---|---|---|",
    ]
    for p in result.points:
        lines.append(
            f"| {p.name} | {p.status} | {p.gate or ''} | {_fmt(p.gain)} | {_fmt(p.forgetting)} "
            f"| {_fmt(p.train_loss)} |"
        )
    (out / "sweep.md").write_text("\n".join(lines) + "\n")
    (out / "sweep.html").write_text(_html(result))


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:+.3f}"


def _html(result: SweepResult) -> str:
    from html import escape

    pts = [p for p in result.points if p.gain is not None]
    w, h, pad = 480, 320, 48
    xs = [p.forgetting or 0.0 for p in pts] or [0.0]
    ys = [p.gain or 0.0 for p in pts] or [0.0]
    x_hi = max(max(xs), 0.05)
    y_lo, y_hi = min(min(ys), 0.0), max(max(ys), 0.05)

    def sx(x: float) -> float:
        return pad + (w - 2 * pad) * x / x_hi

    def sy(y: float) -> float:
        return h - pad - (h - 2 * pad) * (y - y_lo) / (y_hi - y_lo or 1.0)

    dots = "".join(
        f"<circle cx='{sx(p.forgetting or 0.0):.1f}' cy='{sy(p.gain or 0.0):.1f}' r='6' "
        f"fill='{'#2a7' if p.gate == 'pass' else '#c44'}'><title>{escape(p.name)}: "
        f"gate {escape(p.gate or '')}</title></circle>"
        f"<text x='{sx(p.forgetting or 0.0) + 8:.1f}' y='{sy(p.gain or 0.0) - 8:.1f}' "
        f"font-size='11'>{escape(p.name)}</text>"
        for p in pts
    )
    axes = (
        f"<line x1='{pad}' y1='{h - pad}' x2='{w - pad}' y2='{h - pad}' stroke='#333'/>"
        f"<line x1='{pad}' y1='{pad}' x2='{pad}' y2='{h - pad}' stroke='#333'/>"
        f"<text x='{w / 2:.0f}' y='{h - 10}' text-anchor='middle' font-size='12'>worst "
        "regression on the probes (forgetting) →</text>"
        f"<text x='14' y='{h / 2:.0f}' transform='rotate(-90 14 {h / 2:.0f})' "
        "text-anchor='middle' font-size='12'>"
        f"gain in {escape(result.target)} on the suite (learning) →</text>"
    )
    rows = "".join(
        f"<tr><td>{escape(p.name)}</td><td>{escape(p.status)}</td><td>{escape(p.gate or '')}</td>"
        f"<td>{_fmt(p.gain)}</td><td>{_fmt(p.forgetting)}</td></tr>"
        for p in result.points
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Sweep</title><style>"
        "body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px 8px}"
        "table{border-collapse:collapse}</style></head><body><h1>Hyperparameter sweep</h1>"
        f"<p><b>Best: {escape(result.best or 'none')}</b> — {escape(result.reason)}</p>"
        f"<svg width='{w}' height='{h}' role='img' aria-label='learn/forget trade-off'>{axes}"
        f"{dots}</svg><table><tr><th>point</th><th>status</th><th>gate</th><th>gain</th>"
        f"<th>forgetting</th></tr>{rows}</table></body></html>"
    )


def load_sweep(path: str | Path) -> SweepResult:
    """A sweep's ``sweep.json`` (or its folder)."""
    p = Path(path)
    return SweepResult.model_validate(
        json.loads((p / "sweep.json" if p.is_dir() else p).read_text())
    )
