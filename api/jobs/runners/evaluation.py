"""``eval`` jobs: ``evalsuite.evaluate_pair`` of the base model and, when a train job's adapter is
named, the tuned one, on a suite. Its layout is the job's artifacts: ``base/``, ``tuned/`` and
``compare/`` (each folder downloads as a zip; a gate job reads ``compare/``).

Resumable: generations go through the job store's generation cache, so a rerun after an
interruption does not pay again for what was already generated.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.jobs.context import JobContext, JobRequestBase, Outcome
from evalsuite import CompareConfig, Suite

RESUMABLE = True


class EvalJob(JobRequestBase):
    """Evaluate a model, and compare it with a trained adapter, on a suite of cases."""

    type: Literal["eval"]
    """The job type."""
    suite: Suite
    """The cases (the same model ``tunesmith eval`` reads from a suite file)."""
    model: str = Field(min_length=1, max_length=200)
    """The base model: a built-in alias or a model the server offers by name (never a path)."""
    adapter_job_id: str | None = Field(default=None, min_length=1, max_length=64)
    """A succeeded train job of this key whose adapter is the tuned model; without it only the
    base model is run."""
    probe: bool = False
    """Also measure perplexity on the shipped probe texts (catches forgetting)."""
    compare: CompareConfig = Field(default_factory=CompareConfig)
    """How the two runs are compared."""

    def jobs(self) -> dict[str, str]:
        return {"adapter": self.adapter_job_id} if self.adapter_job_id else {}


def run(request: EvalJob, ctx: JobContext) -> Outcome:
    """Run base (and tuned) and compare; the result is the comparison (or the base run)."""
    import evalsuite
    from curate import Store

    def progress(step: str, index: int, steps: int) -> None:
        ctx.progress({"step": step, "index": index, "steps": steps})

    adapter = ctx.jobs["adapter"] / "adapter" if "adapter" in ctx.jobs else None
    with Store() as store:  # the job's own store: its generation cache makes reruns cheap
        pair = evalsuite.evaluate_pair(
            request.suite,
            request.model,
            adapter,
            out_dir=ctx.artifacts,
            config=evalsuite.EvalConfig(probe=request.probe),
            compare=request.compare,
            store=store,
            progress=progress,
        )
    if pair.comparison is None:
        return Outcome(result={"base": pair.base.model_dump(mode="json", exclude={"cases"})})
    return Outcome(result=pair.comparison.model_dump(mode="json", exclude={"cases"}))
