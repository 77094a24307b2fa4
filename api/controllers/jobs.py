"""``/v1/jobs``: submit (202 + Location), list, get, cancel, events, and the SSE stream."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from api import bodies, names
from api.controllers import config, db, owner, problems, supervisor
from api.idempotency import fingerprint, idempotent
from api.jobs import queue
from api.jobs.runners import JobSubmission
from api.schemas import MAX_PAGE, TERMINAL_STATES, EventList, Job, JobPage, JobState, JobType
from curate import ConflictError

Limit = Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="Items per page")]
_cancels: set[asyncio.Task[None]] = set()


def _inputs(request: Request, body: Any) -> dict[str, dict[str, str]]:
    """Resolve the datasets and earlier jobs a request names, for its owner, to files."""
    store, key = db(request).main, owner(request)
    datasets = {
        role: store.get_dataset(ref, owner=key).path for role, ref in body.datasets().items()
    }
    jobs: dict[str, str] = {}
    for role, ref in body.jobs().items():
        earlier = queue.get_job(store, ref, key)
        if earlier.state != "succeeded":
            raise ConflictError(f"{role}: job {ref} is {earlier.state}, not succeeded")
        jobs[role] = str(supervisor(request).job_dir(earlier.id) / "artifacts")
    return {"datasets": datasets, "jobs": jobs}


class JobController(Controller):
    """Durable jobs run by worker processes."""

    path = "/v1/jobs"
    tags = ("jobs",)
    security = ({"bearer": []},)

    @post(
        "/",
        status_code=202,
        summary="Submit a job",
        responses=problems(400, 404, 409, 413, 415, 422),
    )
    async def submit(self, request: Request) -> Response[Job]:
        """Queue a curate / synthesize / train / eval / gate / sweep job with the CLI's config model.

        Model and chat-template fields take names the server offers (listed in this schema),
        never paths; JSON nested deeper than 64 is refused; types are strict (no booleans as
        numbers)."""
        body = (await bodies.read(request, JobSubmission)).root
        names.check(body, body.type, config(request))
        canonical = body.model_dump_json()

        async def produce() -> tuple[int, Job, dict[str, str]]:
            inputs = _inputs(request, body)
            job = queue.create_job(
                db(request).main, owner(request), body.type, json.loads(canonical)
            )
            folder = supervisor(request).job_dir(job.id)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "inputs.json").write_text(json.dumps(inputs), encoding="utf-8")
            supervisor(request).wake()
            return 202, job, {"Location": f"/v1/jobs/{job.id}"}

        return await idempotent(request, fingerprint(canonical), produce)  # type: ignore[return-value]

    @get("/", summary="List jobs", responses=problems(400))
    async def list_jobs(
        self,
        request: Request,
        job_state: Annotated[JobState | None, Parameter(query="state")] = None,
        job_type: Annotated[JobType | None, Parameter(query="type")] = None,
        after: Annotated[str | None, Parameter(max_length=64)] = None,
        limit: Limit = 20,
    ) -> JobPage:
        """This key's jobs, newest first, optionally one state or type."""
        return queue.list_jobs(
            db(request).main,
            owner(request),
            state=job_state,
            job_type=job_type,
            after=after,
            limit=limit,
        )

    @get("/{job_id:str}", summary="Get a job", responses=problems(404))
    async def get_job(self, request: Request, job_id: str) -> Job:
        """A job's state, and its result once it succeeded."""
        return queue.get_job(db(request).main, job_id, owner(request))

    @post(
        "/{job_id:str}/cancel",
        status_code=202,
        summary="Cancel a job",
        responses=problems(404, 409, 422),
    )
    async def cancel(self, request: Request, job_id: str) -> Response[Job]:
        """Queued jobs are cancelled at once; running ones move to cancelling, their worker is
        killed and they end cancelled."""

        async def produce() -> tuple[int, Job, dict[str, str]]:
            job = queue.request_cancel(db(request).main, job_id, owner(request))
            if job.state == "cancelling":
                task = asyncio.create_task(supervisor(request).cancel(job_id))
                _cancels.add(task)
                task.add_done_callback(_cancels.discard)
            supervisor(request).changes.notify()
            return 202, job, {}

        return await idempotent(request, fingerprint("cancel", job_id), produce)  # type: ignore[return-value]

    @get(
        "/{job_id:str}/events",
        summary="A job's events after a sequence number",
        responses=problems(400, 404),
    )
    async def events(
        self,
        request: Request,
        job_id: str,
        after: Annotated[int, Parameter(ge=0)] = 0,
        limit: Limit = MAX_PAGE,
    ) -> EventList:
        """Events with ``seq > after``, in order."""
        store = db(request).main
        job = queue.get_job(store, job_id, owner(request))
        evs = queue.events(store, job_id, after, limit)
        return EventList(
            data=evs, last_seq=evs[-1].seq if evs else after, done=job.state in TERMINAL_STATES
        )

    @get(
        "/{job_id:str}/events/stream",
        summary="Follow a job's events (SSE)",
        responses=problems(400, 404),
        media_type="text/event-stream",
    )
    async def stream(
        self,
        request: Request,
        job_id: str,
        after: Annotated[int, Parameter(ge=0)] = 0,
        last_event_id: Annotated[
            str | None, Parameter(header="Last-Event-ID", max_length=20)
        ] = None,
    ) -> ServerSentEvent:
        """Server-sent events, each with ``id:`` = its seq (reconnect with ``Last-Event-ID``),
        heartbeat comments while idle; the stream ends after the job's final event."""
        store = db(request).main
        queue.get_job(store, job_id, owner(request))
        start = int(last_event_id) if last_event_id and last_event_id.isdigit() else after
        return ServerSentEvent(_follow(request, job_id, start))


async def _follow(request: Request, job_id: str, seq: int) -> AsyncIterator[ServerSentEventMessage]:
    store, changes = db(request).main, supervisor(request).changes
    beat, poll = config(request).heartbeat_s, config(request).poll_s
    last_sent = time.monotonic()
    while True:
        state = queue.get_job(store, job_id).state  # read before the events: none can be missed
        for event in queue.events(store, job_id, seq):
            seq = event.seq
            last_sent = time.monotonic()
            yield ServerSentEventMessage(
                id=event.seq, event=event.type, data=event.model_dump_json()
            )
        if state in TERMINAL_STATES:
            return
        if time.monotonic() - last_sent >= beat:
            last_sent = time.monotonic()
            yield ServerSentEventMessage(comment="heartbeat", data=None)
        await changes.wait(min(beat, poll))
