"""``gate`` jobs: ``evalsuite.gate`` over an eval job's comparison and a policy.

The job *succeeds* whenever the gate could decide; the decision itself (pass, fail,
inconclusive) is the job's ``verdict``, kept apart from its state. Gate reports (``gate.json``,
``gate.md``, ``junit.xml``, ``report.html``) become artifacts. Resumable: it is a pure function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from api.jobs.context import JobContext, JobRequestBase, Outcome
from evalsuite import Comparison, GatePolicy

RESUMABLE = True


class GateJob(JobRequestBase):
    """Decide whether a tuned model ships, from an eval job's comparison."""

    type: Literal["gate"]
    """The job type."""
    eval_job_id: str | None = Field(default=None, min_length=1, max_length=64)
    """A succeeded eval job of this key that compared base and tuned..."""
    comparison: Comparison | None = None
    """...or the comparison itself (from an eval run elsewhere): exactly one of the two."""
    policy: GatePolicy = Field(default_factory=GatePolicy)
    """What the tuned model must show (the same model ``tunesmith gate`` reads)."""

    @model_validator(mode="after")
    def _one_source(self) -> GateJob:
        if (self.eval_job_id is None) == (self.comparison is None):
            raise ValueError("give exactly one of eval_job_id and comparison")
        return self

    def jobs(self) -> dict[str, str]:
        return {"eval": self.eval_job_id} if self.eval_job_id else {}


def run(request: GateJob, ctx: JobContext) -> Outcome:
    """Gate the comparison; write the gate reports."""
    import evalsuite

    comparison = request.comparison or evalsuite.load_comparison(_comparison_dir(ctx.jobs["eval"]))
    decision = evalsuite.gate(comparison, request.policy)
    evalsuite.write_gate_reports(decision, comparison, ctx.artifacts)
    return Outcome(result=decision.model_dump(mode="json"), verdict=decision.verdict)


def _comparison_dir(eval_job: Path) -> Path:
    """Where an eval job left its comparison: ``compare/`` (``evaluate_pair``'s layout), or the
    top of its artifacts for eval jobs written before that layout."""
    folder = eval_job / "compare"
    return folder if folder.is_dir() else eval_job
