"""``eval`` jobs: ``evalsuite.run`` of the base model (and of the tuned one, when a train job's
adapter is named) on a suite, then ``evalsuite.compare``; runs and the comparison with its
reports become artifacts.

Resumable: generations go through the job store's generation cache, so a rerun after an
interruption does not pay again for what was already generated.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from api.jobs.context import JobContext, JobRequestBase, Outcome, model_name
from evalsuite import CompareConfig, Suite

RESUMABLE = True


class EvalJob(JobRequestBase):
    """Evaluate a model, and compare it with a trained adapter, on a suite of cases."""

    type: Literal["eval"]
    """The job type."""
    suite: Suite
    """The cases (the same model ``tunesmith eval`` reads from a suite file)."""
    model: str = Field(min_length=1, max_length=200)
    """The base model: a built-in alias or an ``org/name`` id (never a server path)."""
    adapter_job_id: str | None = Field(default=None, min_length=1, max_length=64)
    """A succeeded train job of this key whose adapter is the tuned model; without it only the
    base model is run."""
    probe: bool = False
    """Also measure perplexity on the shipped probe texts (catches forgetting)."""
    compare: CompareConfig = Field(default_factory=CompareConfig)
    """How the two runs are compared."""

    @field_validator("model")
    @classmethod
    def _names_only(cls, name: str) -> str:
        return model_name(name)

    def jobs(self) -> dict[str, str]:
        return {"adapter": self.adapter_job_id} if self.adapter_job_id else {}


def run(request: EvalJob, ctx: JobContext) -> Outcome:
    """Run base (and tuned), compare, write ``base_run.json``, ``tuned_run.json`` and the
    comparison reports."""
    import evalsuite
    from curate.store.store import Store

    with Store() as store:  # the job's own store: its generation cache makes reruns cheap
        ctx.progress({"step": "base", "index": 0, "steps": 2})
        base = evalsuite.run(request.suite, request.model, probe=request.probe, store=store)
        (ctx.artifacts / "base_run.json").write_text(base.model_dump_json(indent=1))
        if "adapter" not in ctx.jobs:
            return Outcome(result={"base": base.model_dump(mode="json", exclude={"cases"})})
        adapter = ctx.jobs["adapter"] / "adapter"
        ctx.progress({"step": "tuned", "index": 1, "steps": 2})
        tuned = evalsuite.run(request.suite, request.model, adapter=str(adapter),
                              probe=request.probe, store=store)  # fmt: skip
        (ctx.artifacts / "tuned_run.json").write_text(tuned.model_dump_json(indent=1))
    comparison = evalsuite.compare(base, tuned, config=request.compare)
    evalsuite.write_comparison_reports(comparison, ctx.artifacts)
    return Outcome(result=comparison.model_dump(mode="json", exclude={"cases"}))
