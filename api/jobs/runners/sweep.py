"""``sweep`` jobs: ``api.sweep.sweep`` over an uploaded dataset: every point of a small grid
trained, evaluated against the base on the suite and the capability probes, and gated; the best
point that passes is the job's result.

Resumable: the sweep's folder lives in the job's folder, a point whose ``point.json`` exists is
read back, and a point interrupted mid-training resumes from its checkpoint. Every point's
artifacts are kept: ``points/<point>/`` (``point.json``, ``adapter/``, the training card and
metrics, and ``eval/`` with ``base/``, ``tuned/`` and ``compare/``), beside ``sweep.json``,
``sweep.md`` and ``sweep.html`` (the learn/forget chart).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from api.jobs.context import JobContext, JobRequestBase, Outcome
from api.jobs.runners.train import ApiTrainConfig
from api.sweep import SWEEPABLE, SweepExecutor, check_points, points_of
from curate import ConfigError, SamplingParams
from evalsuite import GatePolicy, Suite

RESUMABLE = True
STOPPABLE = True


class SweepJob(JobRequestBase):
    """A gated sweep with the same inputs as ``tunesmith train sweep``."""

    type: Literal["sweep"]
    """The job type."""
    dataset_id: str = Field(min_length=1, max_length=64)
    """The training data (one of this key's datasets)."""
    config: ApiTrainConfig
    """What every point starts from: ``base_model`` and ``chat_template`` are names the server
    offers; ``output_dir`` is chosen by the server and ``dataset`` is ``dataset_id``."""
    grid: dict[str, list[float]] = Field(min_length=1, max_length=len(SWEEPABLE))
    """Config field → values (``learning_rate``, ``rank``, ``epochs``, ...); at most 64 points."""
    suite: Suite
    """The held-out suite each point is gated on."""
    probes: tuple[Literal["ifeval", "refusal", "mt_bench"], ...] = ("ifeval", "refusal")
    """Capability probes run beside the suite (the forgetting guard); ``mt_bench`` adds
    MT-Bench questions judged pairwise, base against tuned."""
    policy: GatePolicy | None = None
    """The gate policy (None: the shipped default policy)."""
    max_tokens: int = Field(default=256, ge=1, le=4096)
    """New tokens per answer (greedy)."""
    executor: SweepExecutor = Field(default_factory=SweepExecutor)
    """Where the points train: in the worker, one after another, or as tasks on a local Ray
    instance the worker starts (a tenant may not name a cluster to connect to)."""

    @field_validator("executor")
    @classmethod
    def _no_address(cls, executor: SweepExecutor) -> SweepExecutor:
        if executor.address is not None:
            raise ValueError("executor.address: not accepted over the API")
        return executor

    @field_validator("grid")
    @classmethod
    def _sweepable(cls, grid: dict[str, list[float]]) -> dict[str, list[float]]:
        points = 1
        for key, values in grid.items():
            if key not in SWEEPABLE:
                raise ValueError(f"{key}: not a field a sweep may vary ({', '.join(SWEEPABLE)})")
            if not 1 <= len(values) <= 16:
                raise ValueError(f"{key}: between 1 and 16 values")
            points *= len(values)
        if points > 64:
            raise ValueError(f"{points} points: at most 64")
        return grid

    @model_validator(mode="after")
    def _points_validate(self) -> SweepJob:
        try:
            check_points(self.config, points_of(_typed(self.grid)))
        except ConfigError as e:
            raise ValueError(str(e)) from None
        return self

    def datasets(self) -> dict[str, str]:
        return {"train": self.dataset_id}


def _typed(grid: dict[str, list[float]]) -> dict[str, list[Any]]:
    """Whole numbers as ints (rank, epochs, ...), as ``parse_grid`` reads them."""
    return {
        k: [int(v) if float(v).is_integer() and k != "learning_rate" else v for v in values]
        for k, values in grid.items()
    }


def run(request: SweepJob, ctx: JobContext) -> Outcome:
    """Sweep in ``<job>/sweep``; copy the reports and every point's artifacts."""
    import evalsuite
    from api.sweep import sweep
    from curate import Store

    workdir = ctx.dir / "sweep"
    eval_config = evalsuite.EvalConfig(
        params=SamplingParams(temperature=0.0, max_tokens=request.max_tokens)
    )

    def progress(name: str, index: int, total: int) -> None:
        ctx.progress({"point": name, "index": index, "points": total})

    with Store() as store:  # the job's own store: its generation cache makes reruns cheap
        result = sweep(
            ctx.datasets["train"],
            request.config,
            _typed(request.grid),
            suite=request.suite,
            out_dir=workdir,
            probes=tuple(request.probes),
            policy=request.policy,
            eval_config=eval_config,
            progress=progress,
            executor=request.executor,
            store=store,
            stop=ctx.stop,
        )
    for name in ("sweep.json", "sweep.md", "sweep.html"):
        shutil.copy2(workdir / name, ctx.artifacts / name)
    for point in result.points:
        _keep_point(Path(point.folder), ctx.artifacts / "points" / Path(point.folder).name)
    return Outcome(result=result.model_dump(mode="json"))


_TRAIN_RECORDS = ("training_card.json", "training_card.md", "metrics.jsonl")


def _keep_point(folder: Path, into: Path) -> None:
    """A point's artifacts: its record, adapter, card and metrics, and its evaluation."""
    into.mkdir(parents=True, exist_ok=True)
    shutil.copy2(folder / "point.json", into / "point.json")
    train_dir = folder / "train"
    # train.run's layout: the adapter at the top of its folder, checkpoints below it (not kept).
    if (train_dir / "adapter_config.json").is_file():
        adapter = into / "adapter"
        adapter.mkdir(exist_ok=True)
        for f in train_dir.iterdir():
            if f.is_file() and f.name not in _TRAIN_RECORDS:
                shutil.copy2(f, adapter / f.name)
    for name in _TRAIN_RECORDS:
        if (train_dir / name).is_file():
            shutil.copy2(train_dir / name, into / name)
    if (folder / "eval").is_dir():
        for part in ("base", "tuned", "compare"):
            if (folder / "eval" / part).is_dir():
                shutil.copytree(folder / "eval" / part, into / part, dirs_exist_ok=True)
