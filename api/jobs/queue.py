"""Jobs and their events in the store: create, claim, move between states, list, page.

Every function takes the server's main ``Store`` and runs on the event loop's thread, so job
writes are serialised without locks.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from api.schemas import MAX_PAGE, TERMINAL_STATES, Job, JobEvent, JobPage, JobSummary
from curate import ConflictError, NotFoundError, Store

_SUMMARY = "id, type, state, verdict, error, attempts, created_at, started_at, finished_at"
_COLUMNS = (
    "id, type, state, request, result, verdict, error, attempts, created_at, "
    "started_at, finished_at"
)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _utc(value: datetime | None) -> datetime | None:
    """The store keeps naive UTC; the API says so (RFC 3339 wants an offset)."""
    return value.replace(tzinfo=UTC) if value is not None else None


def new_job_id() -> str:
    """A fresh id that sorts by creation time: ``job_`` + ms timestamp + random."""
    return f"job_{int(time.time() * 1000):012x}{secrets.token_hex(5)}"


def _row(columns: str, row: tuple[Any, ...]) -> dict[str, Any]:
    d = dict(zip([c.strip() for c in columns.split(",")], row, strict=True))
    for key in ("created_at", "started_at", "finished_at"):
        d[key] = _utc(d[key])
    return d


def _job(row: tuple[Any, ...]) -> Job:
    d = _row(_COLUMNS, row)
    d["request"] = json.loads(d["request"])
    d["result"] = json.loads(d["result"]) if d["result"] else None
    return Job(**d)


def add_event(store: Store, job_id: str, type_: str, data: dict[str, Any]) -> int:
    """Append an event to a job; returns its sequence number."""
    (seq,) = store.con.execute(
        "SELECT coalesce(max(seq), 0) + 1 FROM job_events WHERE job_id = ?", [job_id]
    ).fetchone()  # type: ignore[misc]
    store.con.execute(
        "INSERT INTO job_events VALUES (?, ?, ?, ?, ?)",
        [job_id, seq, type_, json.dumps(data, default=str), _now()],
    )
    return int(seq)


def create_job(store: Store, owner: str, job_type: str, request: dict[str, Any]) -> Job:
    """Queue a job for ``owner``."""
    job_id = new_job_id()
    store.con.execute(
        "INSERT INTO jobs VALUES (?, ?, ?, 'queued', ?, NULL, NULL, NULL, 0, NULL, ?, NULL, NULL)",
        [job_id, owner, job_type, json.dumps(request), _now()],
    )
    add_event(store, job_id, "state", {"state": "queued"})
    return get_job(store, job_id)


def get_job(store: Store, job_id: str, owner: str | None = None) -> Job:
    """A job by id (only the owner's when ``owner`` is given); ``NotFoundError`` otherwise."""
    sql = f"SELECT {_COLUMNS} FROM jobs WHERE id = ?"
    params: list[Any] = [job_id]
    if owner is not None:
        sql += " AND owner = ?"
        params.append(owner)
    row = store.con.execute(sql, params).fetchone()
    if row is None:
        raise NotFoundError(f"no job {job_id!r}")
    return _job(row)


def list_jobs(
    store: Store,
    owner: str,
    *,
    state: str | None = None,
    job_type: str | None = None,
    after: str | None = None,
    limit: int = 20,
) -> JobPage:
    """The owner's jobs, newest first, filtered by state and type, one page after ``after``
    (summaries: a job's request and result can be large; get the job for them)."""
    sql = f"SELECT {_SUMMARY} FROM jobs WHERE owner = ?"
    params: list[Any] = [owner]
    for column, value in (("state", state), ("type", job_type)):
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    if after is not None:
        sql += " AND id < ?"
        params.append(after)
    limit = max(1, min(limit, MAX_PAGE))
    rows = store.con.execute(sql + " ORDER BY id DESC LIMIT ?", [*params, limit + 1]).fetchall()
    jobs = [JobSummary(**_row(_SUMMARY, r)) for r in rows[:limit]]
    return JobPage(data=jobs, has_more=len(rows) > limit, last_id=jobs[-1].id if jobs else None)


def events(store: Store, job_id: str, after: int = 0, limit: int = MAX_PAGE) -> list[JobEvent]:
    """A job's events with ``seq > after``, in order."""
    rows = store.con.execute(
        "SELECT seq, type, data, created_at FROM job_events WHERE job_id = ? AND seq > ? "
        "ORDER BY seq LIMIT ?",
        [job_id, after, limit],
    ).fetchall()
    return [
        JobEvent(seq=r[0], type=r[1], data=json.loads(r[2]), created_at=_utc(r[3])) for r in rows
    ]


def claim_next(store: Store, job_type: str) -> Job | None:
    """Move the oldest queued job of a type to ``running`` (a new attempt); None if none."""
    row = store.con.execute(
        "SELECT id FROM jobs WHERE state = 'queued' AND type = ? ORDER BY id LIMIT 1", [job_type]
    ).fetchone()
    if row is None:
        return None
    store.con.execute(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ? WHERE id = ?",
        [_now(), row[0]],
    )
    job = get_job(store, row[0])
    add_event(store, job.id, "state", {"state": "running", "attempt": job.attempts})
    return job


def set_worker(store: Store, job_id: str, pid: int | None) -> None:
    """Remember the pid of a job's worker (so a restart can find an orphan)."""
    store.con.execute("UPDATE jobs SET worker_pid = ? WHERE id = ?", [pid, job_id])


def worker_of(store: Store, job_id: str) -> int | None:
    """The pid recorded for a job's worker."""
    row = store.con.execute("SELECT worker_pid FROM jobs WHERE id = ?", [job_id]).fetchone()
    return row[0] if row else None


def finish(
    store: Store,
    job_id: str,
    state: str,
    *,
    result: dict[str, Any] | None = None,
    verdict: str | None = None,
    error: str | None = None,
) -> Job:
    """Move a job to a final state (or back to ``queued`` for a resume) with an event."""
    final = state in TERMINAL_STATES
    store.con.execute(
        "UPDATE jobs SET state = ?, result = ?, verdict = ?, error = ?, worker_pid = NULL, "
        "finished_at = ? WHERE id = ?",
        [
            state,
            json.dumps(result) if result is not None else None,
            verdict,
            error,
            _now() if final else None,
            job_id,
        ],
    )
    data: dict[str, Any] = {"state": state}
    if error:
        data["error"] = error
    if verdict:
        data["verdict"] = verdict
    add_event(store, job_id, "state", data)
    return get_job(store, job_id)


def request_cancel(store: Store, job_id: str, owner: str) -> Job:
    """Cancel a job: a queued one at once, a running one via ``cancelling``.

    Raises:
        NotFoundError: no such job for this owner.
        ConflictError: the job already reached a final state.
    """
    job = get_job(store, job_id, owner)
    if job.state in TERMINAL_STATES:
        raise ConflictError(f"job {job_id} already {job.state}; nothing to cancel")
    if job.state == "queued":
        return finish(store, job_id, "cancelled")
    if job.state == "running":
        store.con.execute("UPDATE jobs SET state = 'cancelling' WHERE id = ?", [job_id])
        add_event(store, job_id, "state", {"state": "cancelling"})
    return get_job(store, job_id)


def unfinished(store: Store) -> list[Job]:
    """Jobs a worker was running (or cancelling) when the server last stopped."""
    rows = store.con.execute(
        f"SELECT {_COLUMNS} FROM jobs WHERE state IN ('running', 'cancelling') ORDER BY id"
    ).fetchall()
    return [_job(r) for r in rows]


def running_count(store: Store) -> int:
    """Jobs in ``running`` or ``cancelling``."""
    (n,) = store.con.execute(
        "SELECT count(*) FROM jobs WHERE state IN ('running', 'cancelling')"
    ).fetchone()  # type: ignore[misc]
    return int(n)
