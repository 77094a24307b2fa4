"""The HTTP contract against a real server: auth, problem details, uploads and their limit,
pagination, ownership, job submission/cancel/events/SSE, idempotency, input safety."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from api.client import Client
from api.errors import Unauthorized
from curate.errors import ConflictError, InputError, NotFoundError

ROWS = [
    {"instruction": "Add 2 and 3.", "input": "", "output": "5"},
    {"instruction": "Name a colour.", "input": "", "output": "Blue."},
    {"instruction": "Translate 'chat' to English.", "input": "", "output": "cat"},
]


def write_jsonl(path: Path, rows: list[dict], broken: int = 0) -> Path:
    lines = [json.dumps(r) for r in rows] + ["{not json"] * broken
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def alice(parked) -> Client:
    server, (key, _) = parked
    with server.client(key) as c:
        yield c


@pytest.fixture(scope="module")
def bob(parked) -> Client:
    server, (_, key) = parked
    with server.client(key) as c:
        yield c


def test_health_and_schema_need_no_key(parked) -> None:
    server, _ = parked
    assert httpx.get(f"{server.url}/health").json()["status"] == "ok"
    schema = httpx.get(f"{server.url}/schema/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert {"/v1/datasets", "/v1/jobs", "/v1/jobs/{job_id}/events/stream"} <= set(schema["paths"])


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer tsk_000000000000_x", "Basic a"])
def test_every_v1_route_needs_a_valid_key(parked, header: str | None) -> None:
    server, _ = parked
    headers = {"Authorization": header} if header else {}
    r = httpx.get(f"{server.url}/v1/jobs", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 401 and body["title"] == "Unauthorized" and body["detail"]
    with (
        Client(server.url, header.split(" ", 1)[1] if header else None) as c,
        pytest.raises(Unauthorized),
    ):
        c.list_datasets()


def test_upload_file_reads_rows_and_rejects(alice: Client, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "small.jsonl", ROWS, broken=1)
    info = alice.upload_dataset(path, name="small")
    assert (info.name, info.shape, info.n_records, info.n_rejects) == ("small", "alpaca", 3, 1)
    assert not Path(info.path).is_absolute() and info.path.startswith("uploads/")
    assert alice.get_dataset(info.id) == info
    rejects = alice.rejects(info.id)
    assert [r.row for r in rejects.data] == [3] and rejects.data[0].reason


def test_records_cursor_walks_every_record_once(alice: Client) -> None:
    rows = [{"instruction": f"Say {i}.", "input": "", "output": str(i)} for i in range(25)]
    info = alice.create_dataset("numbers", rows)
    assert info.n_records == 25
    seen, after, pages = [], None, 0
    while True:
        page = alice.records(info.id, after=after, limit=10)
        seen += [r.completion[0].content for r in page.data]
        pages += 1
        if not page.has_more:
            break
        after = page.last_id
    assert seen == [str(i) for i in range(25)] and pages == 3
    with pytest.raises(NotFoundError):  # a cursor naming nothing: 404, as the schema says
        alice.records(info.id, after="no-such-record")


def test_other_keys_cannot_see_a_dataset(alice: Client, bob: Client) -> None:
    info = alice.create_dataset("private", ROWS)
    with pytest.raises(NotFoundError):
        bob.get_dataset(info.id)
    assert info.id not in [d.id for d in bob.list_datasets(limit=1000).data]
    with pytest.raises(NotFoundError):
        bob.submit({"type": "curate", "dataset_id": info.id})
    with pytest.raises(NotFoundError):
        bob.delete_dataset(info.id)
    assert alice.get_dataset(info.id).id == info.id


def test_unreadable_upload_is_422_and_leaves_no_file(parked, alice: Client, tmp_path: Path) -> None:
    server, _ = parked
    before = sorted(p.name for p in (server.home / "uploads").glob("*"))
    path = tmp_path / "weird.jsonl"
    path.write_text('{"colour": "blue"}\n{"colour": "red"}\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        alice.upload_dataset(path)
    assert err.value.status == 422  # type: ignore[attr-defined]
    assert sorted(p.name for p in (server.home / "uploads").glob("*")) == before


def test_upload_over_the_limit_is_413_and_leaves_nothing(
    parked, alice: Client, tmp_path: Path
) -> None:
    server, (key, _) = parked
    big = tmp_path / "big.jsonl"
    row = json.dumps({"instruction": "x" * 1000, "input": "", "output": "y"})
    big.write_text("\n".join([row] * 1500), encoding="utf-8")  # ~1.5 MB > 1 MiB limit
    uploads = server.home / "uploads"
    before = {p.name for p in uploads.glob("*")}
    with pytest.raises(InputError) as err:
        alice.upload_dataset(big)
    assert err.value.status == 413  # type: ignore[attr-defined]

    # also without a Content-Length (chunked): the limit holds while streaming
    def chunks():
        with open(big, "rb") as f:
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.jsonl"\r\n\r\n'
            yield from iter(lambda: f.read(65536), b"")
            yield b"\r\n--b--\r\n"

    r = httpx.post(
        f"{server.url}/v1/datasets",
        content=chunks(),
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "multipart/form-data; boundary=b",
        },
    )
    assert r.status_code == 413 and r.json()["status"] == 413
    assert {p.name for p in uploads.glob("*")} == before
    # .incoming also holds the waiting reader's own files (its store ``*.duckdb``, the store's
    # ``.wal``, its home), made whenever that child has loaded; no part of either upload
    # (``*.part``, api/uploads.py) may stay there
    assert not list((uploads / ".incoming").glob("*.part"))


def test_client_file_names_never_become_paths(parked, alice: Client) -> None:
    server, (key, _) = parked
    body = "\n".join(json.dumps(r) for r in ROWS).encode()
    r = httpx.post(
        f"{server.url}/v1/datasets",
        headers={"Authorization": f"Bearer {key}"},
        files={"file": ("../../../../tmp/evil.jsonl", body)},
        timeout=120,  # the upload is read in a child process: seconds on a busy machine
    )
    assert r.status_code == 201, r.text
    info = r.json()
    assert info["name"] == "evil"
    assert (server.home / info["path"]).parent == server.home / "uploads"
    assert not Path("/tmp/evil.jsonl").exists()
    # artifact names are matched against the listing, never joined onto a path
    job = alice.submit({"type": "curate", "dataset_id": info["id"]})
    for name in ("../../tunesmith.duckdb", "..%2F..%2Ftunesmith.duckdb", "/etc/passwd"):
        resp = alice.http.get(f"/v1/jobs/{job.id}/artifacts/{name}")
        assert resp.status_code == 404, name
    # a training job cannot name a server folder as its model
    with pytest.raises(InputError):
        alice.submit({"type": "train", "dataset_id": info["id"], "config": {"base_model": "/etc"}})


def test_bad_bodies_and_params_are_4xx(parked, alice: Client) -> None:
    for body in (
        {},
        {"type": "nope"},
        {"type": "curate"},
        {"type": "curate", "dataset_id": "x", "config": {"near": {"threshold": "high"}}},
    ):
        r = alice.http.post("/v1/jobs", json=body)
        assert 400 <= r.status_code < 500, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert alice.http.get("/v1/jobs", params={"state": "sleeping"}).status_code == 400
    assert alice.http.get("/v1/jobs", params={"limit": 0}).status_code == 400
    assert (
        alice.http.post(
            "/v1/datasets", content=b"x", headers={"Content-Type": "text/plain"}
        ).status_code
        == 415
    )


def test_job_lifecycle_while_parked(alice: Client, bob: Client) -> None:
    info = alice.create_dataset("for-jobs", ROWS)
    r = alice.http.post("/v1/jobs", json={"type": "curate", "dataset_id": info.id})
    assert r.status_code == 202 and r.headers["location"] == f"/v1/jobs/{r.json()['id']}"
    job = alice.get_job(r.json()["id"])
    assert (job.state, job.type, job.attempts) == ("queued", "curate", 0)
    assert job.request["config"]["near"]["threshold"]  # defaults filled in: the CLI's model
    with pytest.raises(NotFoundError):
        bob.get_job(job.id)
    assert job.id in [j.id for j in alice.list_jobs(state="queued", type="curate").data]
    assert job.id not in [j.id for j in alice.list_jobs(state="running").data]
    cancelled = alice.cancel(job.id)
    assert cancelled.state == "cancelled" and cancelled.finished_at is not None
    with pytest.raises(ConflictError):
        alice.cancel(job.id)
    events = alice.events(job.id)
    assert [e.data["state"] for e in events.data] == ["queued", "cancelled"] and events.done
    streamed = list(alice.stream(job.id))
    assert [e.seq for e in streamed] == [1, 2]
    assert [e.seq for e in alice.stream(job.id, after=1)] == [2]  # Last-Event-ID resumes


def test_job_list_pages_newest_first(alice: Client) -> None:
    info = alice.create_dataset("paging", ROWS)
    ids = [alice.submit({"type": "curate", "dataset_id": info.id}).id for _ in range(5)]
    seen, after = [], None
    while True:
        page = alice.list_jobs(type="curate", after=after, limit=2)
        seen += [j.id for j in page.data]
        if not page.has_more:
            break
        after = page.last_id
    assert seen == sorted(seen, reverse=True) and set(ids) <= set(seen)
    for job_id in ids:
        alice.cancel(job_id)


def test_sse_stream_has_ids_and_heartbeats(parked, alice: Client) -> None:
    server, (key, _) = parked
    info = alice.create_dataset("sse", ROWS)
    job = alice.submit({"type": "curate", "dataset_id": info.id})
    lines: list[str] = []
    with httpx.stream(
        "GET",
        f"{server.url}/v1/jobs/{job.id}/events/stream",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            lines.append(line)
            if line.startswith(": heartbeat") and sum(x.startswith(": heart") for x in lines) == 2:
                alice.cancel(job.id)  # the stream ends after the final event
    assert lines[0] == "id: 1"
    assert any(x.startswith(": heartbeat") for x in lines)
    data = [json.loads(x[6:]) for x in lines if x.startswith("data: ")]
    ids = [int(x[4:]) for x in lines if x.startswith("id: ")]
    assert ids == [d["seq"] for d in data] and data[-1]["data"]["state"] == "cancelled"
    r = httpx.get(
        f"{server.url}/v1/jobs/{job.id}/events/stream",
        headers={"Authorization": f"Bearer {key}", "Last-Event-ID": str(ids[-2])},
    )
    assert [ln for ln in r.text.splitlines() if ln.startswith("id: ")] == [f"id: {ids[-1]}"]


def test_idempotency_key_replays_rejects_and_survives(alice: Client) -> None:
    info = alice.create_dataset("idem", [{**r, "output": r["output"] + "?"} for r in ROWS])
    key = str(uuid.uuid4())
    body = {"type": "curate", "dataset_id": info.id}
    first = alice.http.post("/v1/jobs", json=body, headers={"Idempotency-Key": key})
    again = alice.http.post("/v1/jobs", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["location"] == first.headers["location"]
    assert again.headers.get("idempotent-replayed") == "true"
    other = alice.http.post(
        "/v1/jobs",
        json={**body, "config": {"near": {"threshold": 0.9}}},
        headers={"Idempotency-Key": key},
    )
    assert other.status_code == 422
    jobs = [alice.get_job(j.id) for j in alice.list_jobs(limit=1000).data]
    assert len([j for j in jobs if j.request.get("dataset_id") == info.id]) == 1
    # the same key on an upload: the same bytes replay, other bytes are refused
    up1 = alice.create_dataset("idem-up", ROWS, idempotency_key="up-1")
    up2 = alice.create_dataset("idem-up", ROWS, idempotency_key="up-1")
    assert up1 == up2
    with pytest.raises(InputError):
        alice.create_dataset("idem-up", ROWS[:2], idempotency_key="up-1")
    alice.cancel(first.json()["id"])


def test_delete_dataset_removes_rows_and_unused_file(parked, alice: Client, tmp_path) -> None:
    server, _ = parked
    info = alice.upload_dataset(
        write_jsonl(tmp_path / "del.jsonl", [{**r, "output": r["output"] + "!"} for r in ROWS])
    )
    assert (server.home / info.path).is_file()
    alice.delete_dataset(info.id)
    with pytest.raises(NotFoundError):
        alice.get_dataset(info.id)
    assert not (server.home / info.path).exists()


def test_dataset_list_pages_newest_first(alice: Client) -> None:
    made = [
        alice.create_dataset(f"page-{i}", [{"instruction": f"Page {i}?", "output": "ok"}]).id
        for i in range(5)
    ]
    seen, after = [], None
    while True:
        page = alice.list_datasets(after=after, limit=2)
        seen += [d.id for d in page.data]
        if not page.has_more:
            break
        after = page.last_id
    assert len(seen) == len(set(seen))
    assert [d for d in seen if d in made] == made[::-1]
