"""``gate`` jobs: ``evalsuite.gate`` over an eval job's comparison and a policy.

The job *succeeds* whenever the gate could decide; the decision itself (pass, fail,
inconclusive) is the job's ``verdict``, kept apart from its state. Gate reports (``gate.json``,
``gate.md``, ``junit.xml``, ``report.html``) become artifacts. Resumable: it is a pure function.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.jobs.context import JobContext, JobRequestBase, Outcome
from evalsuite import GatePolicy

RESUMABLE = True


class GateJob(JobRequestBase):
    """Decide whether a tuned model ships, from an eval job's comparison."""

    type: Literal["gate"]
    """The job type."""
    eval_job_id: str = Field(min_length=1, max_length=64)
    """A succeeded eval job of this key that compared base and tuned."""
    policy: GatePolicy = Field(default_factory=GatePolicy)
    """What the tuned model must show (the same model ``tunesmith gate`` reads)."""

    def jobs(self) -> dict[str, str]:
        return {"eval": self.eval_job_id}


def run(request: GateJob, ctx: JobContext) -> Outcome:
    """Gate the comparison; write the gate reports."""
    import evalsuite

    comparison = evalsuite.load_comparison(ctx.jobs["eval"])
    decision = evalsuite.gate(comparison, request.policy)
    evalsuite.write_gate_reports(decision, comparison, ctx.artifacts)
    return Outcome(result=decision.model_dump(mode="json"), verdict=decision.verdict)
