"""``curate`` jobs: ``curate.run`` over an uploaded dataset, outputs in the job's artifacts.

Resumable: a rerun recomputes from the same input and reuses the embedding cache in the job's
own store, so an interrupted job resumes without paying for the embeddings twice.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from api.jobs.context import JobContext, JobRequestBase, Outcome
from curate import CurateConfig

RESUMABLE = True


class CurateJob(JobRequestBase):
    """Curate a dataset with the same config the CLI's ``tunesmith curate`` reads."""

    type: Literal["curate"]
    """The job type."""
    dataset_id: str = Field(min_length=1, max_length=64)
    """The dataset to curate (one of this key's datasets)."""
    config: CurateConfig = Field(default_factory=CurateConfig)
    """The curation pipeline's configuration. No ``executor`` section: the server runs the steps
    in the job's worker process (a Ray address or work folder from a client is refused)."""
    eval_dataset_id: str | None = Field(default=None, min_length=1, max_length=64)
    """An eval set (one of this key's datasets) for the train/eval leakage check."""

    @model_validator(mode="after")
    def _no_executor(self) -> CurateJob:
        # after, not before: a before-validator makes pydantic validate the nested config in
        # Python mode, where a JSON array is no tuple
        if "executor" in self.config.model_fields_set:
            raise ValueError(
                "config.executor: not accepted over the API (the server runs the steps in "
                "the job's worker process)"
            )
        return self

    def datasets(self) -> dict[str, str]:
        refs = {"input": self.dataset_id}
        if self.eval_dataset_id:
            refs["eval"] = self.eval_dataset_id
        return refs


def run(request: CurateJob, ctx: JobContext) -> Outcome:
    """Run the curation pipeline; ``curated.parquet``, findings and reports land in artifacts."""
    import curate

    def progress(step: str, index: int, steps: int) -> None:
        ctx.progress({"step": step, "index": index, "steps": steps})

    result = curate.run(
        ctx.datasets["input"],
        request.config,
        out_dir=ctx.artifacts,
        eval_set=ctx.datasets.get("eval"),
        progress=progress,
    )
    return Outcome(result=result.model_dump(mode="json", exclude={"out_dir"}))
