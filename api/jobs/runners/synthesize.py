"""``synthesize`` jobs: ``curate.synthesize`` (teacher answers, diversified prompts, verified
negatives) over an uploaded dataset; ``records.jsonl``, ``dropped.jsonl`` and ``report.json``
become artifacts.

Resumable: every generation goes through the job store's generation cache, so a rerun after an
interruption asks the model only for what it had not answered yet.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from api.jobs.context import JobContext, JobRequestBase, Outcome
from curate import SynthConfig

RESUMABLE = True


class SynthesizeJob(JobRequestBase):
    """Synthesise for a dataset with the same config the CLI's ``tunesmith synth`` reads."""

    type: Literal["synthesize"]
    """The job type."""
    task: Literal["teacher", "diversify", "negatives"]
    """``teacher`` answers, ``diversify`` prompts, or verified ``negatives``."""
    dataset_id: str = Field(min_length=1, max_length=64)
    """The input dataset (one of this key's datasets)."""
    config: SynthConfig = Field(default_factory=SynthConfig)
    """Generator, sampling and checks. The server calls no URL and reads no folder a client
    names: ``base_url``, ``judge_base_url`` and ``templates_dir`` must stay unset."""

    @field_validator("config")
    @classmethod
    def _safe(cls, config: SynthConfig) -> SynthConfig:
        for name in ("base_url", "judge_base_url", "templates_dir"):
            if getattr(config, name) is not None:
                raise ValueError(
                    f"{name}: not accepted over the API (the server calls no URL "
                    "and reads no folder a client names)"
                )
        return config

    def datasets(self) -> dict[str, str]:
        return {"input": self.dataset_id}


def run(request: SynthesizeJob, ctx: JobContext) -> Outcome:
    """Synthesise into the artifacts folder."""
    import curate

    def progress(stage: str, done: int, total: int) -> None:
        ctx.progress({"stage": stage, "done": done, "total": total})

    result = curate.synthesize(
        request.task,
        ctx.datasets["input"],
        request.config,
        out_dir=ctx.artifacts,
        progress=progress,
    )
    return Outcome(result=result.report.model_dump(mode="json"))
