"""``curate`` jobs: ``curate.run`` over an uploaded dataset, outputs in the job's artifacts.

Resumable: a rerun recomputes from the same input and reuses the embedding cache in the job's
own store, so an interrupted job resumes without paying for the embeddings twice.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.jobs.context import JobContext, JobRequestBase, Outcome
from curate.config import CurateConfig

RESUMABLE = True


class CurateJob(JobRequestBase):
    """Curate a dataset with the same config the CLI's ``tunesmith curate`` reads."""

    type: Literal["curate"]
    """The job type."""
    dataset_id: str = Field(min_length=1, max_length=64)
    """The dataset to curate (one of this key's datasets)."""
    config: CurateConfig = Field(default_factory=CurateConfig)
    """The curation pipeline's configuration."""

    def datasets(self) -> dict[str, str]:
        return {"input": self.dataset_id}


def run(request: CurateJob, ctx: JobContext) -> Outcome:
    """Run the curation pipeline; ``curated.parquet``, findings and reports land in artifacts."""
    import curate

    result = curate.run(
        ctx.datasets["input"], request.config, out_dir=ctx.artifacts, progress=ctx.progress
    )
    return Outcome(result=result.model_dump(mode="json", exclude={"out_dir"}))
