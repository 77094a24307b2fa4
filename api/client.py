"""A Python client for the REST service (httpx), returning the same models the server sends.

```python
with Client("http://127.0.0.1:8000", api_key) as c:
    ds = c.upload_dataset("train.jsonl")
    job = c.submit({"type": "curate", "dataset_id": ds.id})
    for event in c.stream(job.id):
        print(event.type, event.data)
    c.download(job.id, "report.json", "report.json")
```

Problem details come back as the library's exceptions (404 → ``NotFoundError``, 409 →
``ConflictError``, other 4xx → ``InputError``), carrying ``.status`` and ``.problem``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from api.errors import Unauthorized
from api.schemas import (
    TERMINAL_STATES,
    ArtifactList,
    DatasetPage,
    EventList,
    Health,
    Job,
    JobEvent,
    JobPage,
    RecordPage,
    RejectPage,
)
from curate import (
    ConflictError,
    DatasetInfo,
    InputError,
    MissingExtra,
    NotFoundError,
    TunesmithError,
)

M = TypeVar("M", bound=BaseModel)

ERROR_BY_STATUS: dict[int, type[TunesmithError]] = {
    401: Unauthorized,
    404: NotFoundError,
    409: ConflictError,
    501: MissingExtra,
}
"""The client side of ``api.errors.STATUS_BY_ERROR``; any other 4xx is an ``InputError``."""


class ServerError(TunesmithError):
    """The server failed (5xx) or answered something that is not the API."""


def raise_for_problem(response: httpx.Response) -> None:
    """Raise the library exception for an error response (problem details)."""
    if response.is_success:
        return
    try:
        problem = response.json()
    except ValueError:
        problem = {"detail": response.text[:500]}
    detail = problem.get("detail") or problem.get("title") or f"HTTP {response.status_code}"
    status = response.status_code
    cls = ERROR_BY_STATUS.get(status) or (InputError if 400 <= status < 500 else ServerError)
    error = cls(f"{detail} (HTTP {status})")
    error.status = status  # type: ignore[attr-defined]
    error.problem = problem  # type: ignore[attr-defined]
    raise error


class Client:
    """A connection to a tunesmith server."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    # -- plumbing -------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        url: str,
        model: type[M] | None = None,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if idempotency_key:
            kwargs["headers"] = {**kwargs.get("headers", {}), "Idempotency-Key": idempotency_key}
        response = self.http.request(method, url, **kwargs)
        raise_for_problem(response)
        return model.model_validate_json(response.content) if model else response

    @staticmethod
    def _params(**values: Any) -> dict[str, Any]:
        return {k: v for k, v in values.items() if v is not None}

    # -- health and datasets --------------------------------------------------------------------

    def health(self) -> Health:
        """``GET /health``."""
        return self._call("GET", "/health", Health)

    def upload_dataset(
        self,
        path: str | Path,
        name: str | None = None,
        format: str | None = None,
        idempotency_key: str | None = None,
    ) -> DatasetInfo:
        """Upload a dataset file (streamed from disk)."""
        path = Path(path)
        data = self._params(name=name, format=format)
        with open(path, "rb") as f:
            return self._call(
                "POST",
                "/v1/datasets",
                DatasetInfo,
                idempotency_key,
                files={"file": (path.name, f)},
                data=data,
            )

    def create_dataset(
        self,
        name: str,
        records: list[dict[str, Any]],
        format: str | None = None,
        idempotency_key: str | None = None,
    ) -> DatasetInfo:
        """Send a small dataset as JSON rows."""
        body = self._params(name=name, records=records, format=format)
        return self._call("POST", "/v1/datasets", DatasetInfo, idempotency_key, json=body)

    def list_datasets(self, after: str | None = None, limit: int = 20) -> DatasetPage:
        """One page of this key's datasets, newest first."""
        return self._call(
            "GET", "/v1/datasets", DatasetPage, params=self._params(after=after, limit=limit)
        )

    def get_dataset(self, dataset_id: str) -> DatasetInfo:
        """One dataset."""
        return self._call("GET", f"/v1/datasets/{dataset_id}", DatasetInfo)

    def records(self, dataset_id: str, after: str | None = None, limit: int = 100) -> RecordPage:
        """One page of a dataset's records."""
        return self._call(
            "GET",
            f"/v1/datasets/{dataset_id}/records",
            RecordPage,
            params=self._params(after=after, limit=limit),
        )

    def rejects(self, dataset_id: str, after: str | None = None, limit: int = 100) -> RejectPage:
        """One page of a dataset's rejected rows."""
        return self._call(
            "GET",
            f"/v1/datasets/{dataset_id}/rejects",
            RejectPage,
            params=self._params(after=after, limit=limit),
        )

    def delete_dataset(self, dataset_id: str) -> None:
        """Delete a dataset."""
        self._call("DELETE", f"/v1/datasets/{dataset_id}")

    # -- jobs -----------------------------------------------------------------------------------

    def submit(
        self, request: BaseModel | dict[str, Any], idempotency_key: str | None = None
    ) -> Job:
        """Submit a job (a request model from ``api.jobs.runners`` or its JSON)."""
        body = request.model_dump(mode="json") if isinstance(request, BaseModel) else request
        return self._call("POST", "/v1/jobs", Job, idempotency_key, json=body)

    def get_job(self, job_id: str) -> Job:
        """A job's current state."""
        return self._call("GET", f"/v1/jobs/{job_id}", Job)

    def list_jobs(
        self,
        state: str | None = None,
        type: str | None = None,
        after: str | None = None,
        limit: int = 20,
    ) -> JobPage:
        """One page of this key's jobs, newest first."""
        params = self._params(state=state, type=type, after=after, limit=limit)
        return self._call("GET", "/v1/jobs", JobPage, params=params)

    def cancel(self, job_id: str, idempotency_key: str | None = None) -> Job:
        """Cancel a job."""
        return self._call("POST", f"/v1/jobs/{job_id}/cancel", Job, idempotency_key)

    def events(self, job_id: str, after: int = 0) -> EventList:
        """A job's events after a sequence number."""
        return self._call("GET", f"/v1/jobs/{job_id}/events", EventList, params={"after": after})

    def stream(self, job_id: str, after: int = 0, reconnects: int = 5) -> Iterator[JobEvent]:
        """Follow a job's events over SSE until its final event, reconnecting with
        ``Last-Event-ID`` if the connection drops."""
        last = after
        failures = 0
        while True:
            try:
                headers = {"Last-Event-ID": str(last)} if last else {}
                with self.http.stream(
                    "GET", f"/v1/jobs/{job_id}/events/stream", headers=headers, timeout=None
                ) as response:
                    if not response.is_success:
                        response.read()
                        raise_for_problem(response)
                    for event in _parse_sse(response.iter_lines()):
                        last = event.seq
                        failures = 0
                        yield event
                return
            except (httpx.TransportError, httpx.RemoteProtocolError):
                failures += 1
                if failures > reconnects:
                    raise
                time.sleep(min(0.2 * 2**failures, 5.0))

    def wait(self, job_id: str, timeout: float | None = None, poll: float = 0.5) -> Job:
        """Poll until the job reaches a final state; returns it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get_job(job_id)
            if job.state in TERMINAL_STATES:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job.state} after {timeout} s")
            time.sleep(poll)

    def artifacts(self, job_id: str) -> ArtifactList:
        """The files a job wrote."""
        return self._call("GET", f"/v1/jobs/{job_id}/artifacts", ArtifactList)

    def download(self, job_id: str, name: str, dest: str | Path) -> Path:
        """Stream one artifact to ``dest``; returns its path."""
        dest = Path(dest)
        with self.http.stream("GET", f"/v1/jobs/{job_id}/artifacts/{name}") as response:
            if not response.is_success:
                response.read()
                raise_for_problem(response)
            with open(dest, "wb") as f:
                for chunk in response.iter_bytes():
                    f.write(chunk)
        return dest


def _parse_sse(lines: Iterator[str]) -> Iterator[JobEvent]:
    """Events from an SSE stream (comments such as heartbeats are skipped)."""
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield JobEvent.model_validate(json.loads("\n".join(data)))
            data = []
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
