"""``open_executor``: the steps of a run, as the configured executor runs them.

``local`` returns the steps unchanged. ``ray`` starts (or joins) Ray, replaces the steps that
have a distributed form (exact and near deduplication) by it, moves the run's embedding (shared
by semantic dedup and the audit steps) to an actor pool, and wraps every step so that its
findings and figures are kept in the run's work folder: a rerun after a failure skips the steps
(and, inside a distributed step, the stages) that finished. The other steps run in this process,
on the frame the previous step left, with their own code.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from curate.executors.config import ExecutorConfig
from curate.executors.workdir import WorkDir
from curate.pipeline.result import Figures
from curate.pipeline.step import FINDING_SCHEMA, Step, StepResult


class LocalExecutor:
    """Runs the steps in this process, as they are."""

    kind = "local"

    def steps(self, steps: Sequence[Step]) -> list[Step]:
        """The steps unchanged."""
        return list(steps)


class RayExecutor:
    """Runs the steps on Ray Data, each step and stage resumable from the work folder."""

    kind = "ray"

    def __init__(self, config: ExecutorConfig, work: WorkDir) -> None:
        self.config = config
        self.work = work
        """The run's work folder (``<work_dir>/<run id>``)."""

    def steps(self, steps: Sequence[Step]) -> list[Step]:
        """The distributed form of each step that has one; every step checkpointed."""
        from curate.dedup.exact import ExactDedup
        from curate.dedup.near import NearDedup
        from curate.executors.ray_dedup import RayExactDedup, RayNearDedup
        from curate.executors.ray_embed import RayEncode

        # The run's embedder is one object shared by the steps that embed: pointing its encoder
        # at the actor pool moves all of their embedding to Ray at once.
        for embedder in {id(e): e for e in _embedders(steps)}.values():
            embedder.encode = RayEncode(
                self.work.sub("embeddings"),
                self.config,
                embedder.model,
                embedder.batch_size,
                embedder.max_tokens,
            )
        out: list[Step] = []
        for i, step in enumerate(steps):
            label = f"{i:02d}-{step.name}"
            sub = self.work.sub(label)
            if isinstance(step, ExactDedup):
                step = RayExactDedup(step, sub, self.config)
            elif isinstance(step, NearDedup):
                step = RayNearDedup(step, sub, self.config)
            out.append(Checkpointed(step, self.work, f"step-{label}"))
        return out


def _embedders(steps: Sequence[Step]) -> list[Any]:
    """The ``Embedder`` objects the steps hold (attribute ``embed``)."""
    from curate.models.embed import Embedder

    return [e for s in steps if isinstance(e := getattr(s, "embed", None), Embedder)]


class Checkpointed:
    """A step whose result is kept in the work folder and reused by a rerun."""

    def __init__(self, step: Step, work: WorkDir, stage: str) -> None:
        self.step, self.work, self.stage = step, work, stage
        self.name = step.name

    def run(self, records: pl.DataFrame) -> StepResult[Any]:
        """The step's result: computed once, then read back from the work folder."""

        def compute(folder: Path) -> dict[str, object]:
            result = self.step.run(records)
            result.findings.write_parquet(folder / "findings.parquet")
            return {"figures": result.figures.model_dump(mode="json")}

        meta = self.work.stage(self.stage, compute)
        findings = pl.read_parquet(self.work.path(self.stage) / "findings.parquet")
        # The figures are read back as the step's model (the field of ``Figures`` named after
        # it), fresh or resumed alike, so both report the same.
        figures = getattr(Figures.model_validate({self.name: meta["figures"]}), self.name)
        return StepResult(
            findings=findings.cast(FINDING_SCHEMA),  # type: ignore[arg-type]
            figures=figures,
        )


@contextmanager
def open_executor(
    config: ExecutorConfig, default_root: Path, run_id: str
) -> Iterator[LocalExecutor | RayExecutor]:
    """The executor the config names, ready to run a run's steps.

    Args:
        config: the executor section of the curation config.
        default_root: where work folders go when ``config.work_dir`` is not set.
        run_id: the run's id; its work folder is ``<work_dir>/<run_id>``.

    Raises:
        MissingExtra: ``kind="ray"`` without Ray installed.
    """
    if config.kind == "local":
        yield LocalExecutor()
        return
    from curate.executors.ray_data import ray_session

    root = Path(config.work_dir) if config.work_dir else default_root
    with ray_session(config):
        yield RayExecutor(config, WorkDir(root / run_id))
