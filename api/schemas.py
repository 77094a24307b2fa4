"""Request and response bodies of the REST API. Library models are wrapped, never re-declared:
a dataset is ``curate.DatasetInfo``, a record ``curate.Record``, a job's config the same model
the CLI reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from curate import DatasetInfo, Record

T = TypeVar("T")

JobState = Literal["queued", "running", "succeeded", "failed", "cancelling", "cancelled"]
JobType = Literal["curate", "synthesize", "train", "eval", "gate", "sweep"]
TERMINAL_STATES = ("succeeded", "failed", "cancelled")
MAX_PAGE = 1000


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``last_id`` as ``after`` to get the next one."""

    data: list[T]
    """The items of this page."""
    has_more: bool
    """Whether another page follows."""
    last_id: str | None
    """The cursor of the last item here (None on an empty page)."""


class Health(BaseModel):
    """The service is up."""

    status: Literal["ok"] = "ok"
    """Always ``ok`` when the service answers."""
    version: str
    """The tunesmith version."""
    jobs_running: int
    """Jobs whose worker is running now."""


class RecordsUpload(BaseModel):
    """A small dataset sent as JSON rows instead of a file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    """A human name for the dataset."""
    records: list[dict[str, Any]] = Field(min_length=1)
    """Rows in any shape the readers accept (alpaca, sharegpt, openai chat, preference...)."""
    format: str | None = Field(default=None, max_length=64)
    """Force a row shape instead of detecting it."""


class Reject(BaseModel):
    """A row of a dataset file that could not be read, with where and why."""

    source_file: str
    """The file it came from (as stored)."""
    row: int
    """0-based row position in the file."""
    line: int | None
    """1-based line, where the file has lines."""
    reason: str
    """Reason code (``invalid_json``, ``missing_field``...)."""
    detail: str
    """What was wrong, in words."""
    raw: str | None
    """The start of the raw row."""


RecordPage = Page[Record]
RejectPage = Page[Reject]
DatasetPage = Page[DatasetInfo]


class JobSummary(BaseModel):
    """A job as lists show it: its state, without its (possibly large) request and result."""

    object: Literal["job"] = "job"
    id: str
    """Server-assigned id (sortable by creation time)."""
    type: JobType
    """What the job runs."""
    state: JobState
    """queued → running → succeeded | failed; cancelling → cancelled."""
    verdict: Literal["pass", "fail", "inconclusive"] | None = None
    """Gate jobs only: the policy's verdict. A gate job *succeeds* even when its verdict fails."""
    error: str | None = None
    """Why it failed (or was interrupted and could not resume)."""
    attempts: int
    """How many times a worker started it (more than one after a resume)."""
    created_at: datetime
    """When it was accepted (UTC)."""
    started_at: datetime | None = None
    """When its latest attempt started."""
    finished_at: datetime | None = None
    """When it reached a final state."""


class Job(JobSummary):
    """A durable job: its request, its state, and (when done) its result."""

    request: dict[str, Any]
    """The job request as accepted (with defaults filled in)."""
    result: dict[str, Any] | None = None
    """The step's result model as JSON once it succeeded."""


JobPage = Page[JobSummary]


class JobEvent(BaseModel):
    """One event of a job: a state change, progress, a log line, an artifact."""

    seq: int
    """1-based position in the job's events (the SSE ``id``)."""
    type: str
    """``state``, ``progress``, ``log``, ``artifact``, ``interrupted``, ``error``."""
    data: dict[str, Any]
    """The event's payload."""
    created_at: datetime
    """When the server recorded it (UTC)."""


class EventList(BaseModel):
    """Events after a given sequence number."""

    data: list[JobEvent]
    """Events in order."""
    last_seq: int
    """The last sequence number here (or the ``after`` asked for, when none is new)."""
    done: bool
    """Whether the job reached a final state (no further events will come)."""


class Artifact(BaseModel):
    """A file a job wrote."""

    name: str
    """Its name inside the job's artifacts (a relative path)."""
    size: int
    """Bytes."""
    media_type: str
    """Content type used for downloads."""
    url: str
    """Where to download it."""


class ArtifactList(BaseModel):
    """The files a job wrote."""

    data: list[Artifact]
    """Every artifact, by name."""
