"""One module per job type: its request model (the same config the CLI reads) and ``run``.

A runner's ``run(request, ctx) -> Outcome`` executes inside a worker process; its module is
light to import (heavy libraries load inside ``run``). ``RESUMABLE`` says whether a job of that
type that was interrupted by a restart is queued again (its step reuses caches) or failed.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Annotated, Any

from pydantic import Field, RootModel, TypeAdapter

from api.jobs.context import JobRequestBase, Runner
from api.jobs.runners import curate, evaluation, gate, sweep, synthesize, train

MODULES: dict[str, ModuleType] = {
    "curate": curate,
    "synthesize": synthesize,
    "train": train,
    "eval": evaluation,
    "gate": gate,
    "sweep": sweep,
}
"""Job type → its runner module."""

REQUESTS = (
    curate.CurateJob,
    synthesize.SynthesizeJob,
    train.TrainJob,
    evaluation.EvalJob,
    gate.GateJob,
    sweep.SweepJob,
)
"""Every job request model."""

JobRequest = Annotated[
    curate.CurateJob
    | synthesize.SynthesizeJob
    | train.TrainJob
    | evaluation.EvalJob
    | gate.GateJob
    | sweep.SweepJob,
    Field(discriminator="type"),
]
"""The body of ``POST /v1/jobs``: one of the request models, told apart by ``type``."""


class JobSubmission(RootModel[JobRequest]):
    """The body of ``POST /v1/jobs`` as one model (Litestar takes one model per body)."""


_ADAPTER: TypeAdapter[Any] = TypeAdapter(JobRequest)


def parse_request(data: Any) -> JobRequestBase:
    """Validate a job request body (raises pydantic's ``ValidationError``)."""
    return _ADAPTER.validate_python(data)


def runner(job_type: str) -> Runner:
    """The ``run`` function of a job type (imported in the worker only)."""
    return importlib.import_module(MODULES[job_type].__name__).run  # type: ignore[no-any-return]


def resumable(job_type: str) -> bool:
    """Whether an interrupted job of this type is queued again on restart."""
    return bool(getattr(MODULES[job_type], "RESUMABLE", False))
