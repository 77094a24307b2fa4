"""Hardening of the REST API against a real server on 127.0.0.1: no server paths from tenants
(and none back to them), bounded JSON and multipart bodies, refused executor blocks, security
headers, OPTIONS ``Allow``, expiring Idempotency-Keys, start-up cleanup of orphaned uploads,
uploads read outside the server process (a gzip bomb), and ``tunesmith keys`` with the server
running."""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

from api.client import Client
from curate import ALIASES, ConflictError
from tests.api.conftest import Server, cli, new_key

ROWS = [
    {"instruction": f"Name the number {i}.", "input": "", "output": f"It is {i}."}
    for i in range(30)
]
QUICK = {k: {"enabled": False} for k in ("semantic", "contradictions", "diversity")}
"""A curation config without the embedding steps (seconds, no model)."""


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory):
    """A server with one configured model and template, a short Idempotency-Key lifetime, and
    curate jobs running (everything else parked)."""
    home = tmp_path_factory.mktemp("hard") / "home"
    home.mkdir()
    model_dir = home.parent / "models" / "mine"
    model_dir.mkdir(parents=True)
    template = home.parent / "chat.jinja"
    template.write_text("{{ messages }}", encoding="utf-8")
    key = new_key(home, "alice")
    parked = [a for t in ("synthesize", "train", "eval", "gate") for a in ("--jobs", f"{t}=0")]
    server = Server(
        home,
        [
            *parked,
            "--jobs",
            "curate=1",
            "--model",
            f"mine={model_dir}",
            "--template",
            f"chatml={template}",
            "--idempotency-ttl",
            "2",
        ],
    ).start()
    yield server, key, model_dir
    server.stop()


@pytest.fixture(scope="module")
def alice(hardened) -> Client:
    server, key, _ = hardened
    with server.client(key) as c:
        yield c


@pytest.fixture(scope="module")
def dataset(alice: Client) -> str:
    return alice.create_dataset("hard", ROWS).id


def _refusal(alice: Client, body: dict, status: int = 400) -> dict:
    r = alice.http.post("/v1/jobs", json=body)
    assert r.status_code == status, r.text
    return r.json()


@pytest.mark.parametrize(
    ("kind", "build"),
    [
        ("semantic", lambda d, v: {"type": "curate", "dataset_id": d, "semantic": v}),
        ("template", lambda d, v: {"type": "train", "dataset_id": d, "template": v}),
        ("init_adapter", lambda d, v: {"type": "train", "dataset_id": d, "init_adapter": v}),
        ("eval", lambda d, v: {"type": "eval", "model": v}),
    ],
)
def test_model_and_template_fields_take_names_never_paths(hardened, alice, dataset, kind, build):
    server, _, model_dir = hardened
    existing = [str(server.home), str(model_dir), "/etc", str(server.home / "tunesmith.duckdb")]
    missing = ["/nonexistent/x", "../../etc", "./models/mine", "no-such-name"]
    details = set()
    for value in existing + missing:
        body = build(dataset, value)
        if "semantic" in body:
            model = body.pop("semantic")
            body["config"] = {**QUICK, "semantic": {"model": model}}
        elif "template" in body:
            body.pop("template")
            body["config"] = {"base_model": "smollm2-135m", "chat_template": value}
        elif "init_adapter" in body:  # an adapter folder to continue: no path at all
            body.pop("init_adapter")
            body["config"] = {"base_model": "smollm2-135m", "init_adapter": value}
        else:
            case = {"id": "a", "messages": [{"role": "user", "content": "Hi?"}]}
            body["suite"] = {"name": "s", "cases": [case]}
        # a name the server does not offer is a 400; a path field refused outright, a 422
        problem = _refusal(alice, body, 422 if kind == "init_adapter" else 400)
        assert value not in problem["detail"] and str(server.home) not in json.dumps(problem)
        details.add(problem["detail"])
    assert len(details) == 1  # the same answer whether the path exists or not
    assert "mine" in details.pop() or kind in ("template", "init_adapter")


def test_configured_names_are_offered_and_accepted(hardened, alice, dataset) -> None:
    server, _, model_dir = hardened
    doc = httpx.get(f"{server.url}/schema/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert schemas["SemanticConfig"]["properties"]["model"]["enum"] == [*ALIASES, "mine"]
    template = schemas["TrainConfig"]["properties"]["chat_template"]["anyOf"][0]
    assert (
        template["enum"] == ["chatml"] and "executor" not in schemas["CurateConfig"]["properties"]
    )
    train = {"base_model": "mine", "chat_template": "chatml"}
    r = alice.http.post("/v1/jobs", json={"type": "train", "dataset_id": dataset, "config": train})
    assert r.status_code == 202, r.text
    assert str(model_dir) not in r.text  # the request keeps the name; the worker maps it
    alice.cancel(r.json()["id"])


@pytest.mark.parametrize("route", ["/v1/jobs", "/v1/gate"])
def test_deep_json_is_400(hardened, alice, route) -> None:
    for body in ("[" * 5000 + "]" * 5000, '{"a":' * 5000 + "1" + "}" * 5000):
        r = alice.http.post(route, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
        assert "64" in r.json()["detail"]
    shallow = {"type": "curate", "dataset_id": "x", "config": {"severity": {"a": "drop"}}}
    r = alice.http.post(route, json=shallow)
    assert r.status_code != 400 or "nested" not in r.json()["detail"]


def test_deep_records_upload_is_400(hardened, alice) -> None:
    server, _, _ = hardened
    before = sorted((server.home / "uploads").glob("*"))
    body = '{"name": "deep", "records": [' + "[" * 5000 + "]" * 5000 + "]}"
    r = alice.http.post(
        "/v1/datasets", content=body, headers={"Content-Type": "application/json"}, timeout=120
    )
    assert r.status_code == 400 and "64" in r.json()["detail"], r.text
    assert sorted((server.home / "uploads").glob("*")) == before  # nothing kept of it
    assert not list((server.home / "uploads" / ".incoming").glob("*.part"))


def test_refusals_name_the_upload_never_a_server_path(hardened, alice) -> None:
    server, _, _ = hardened
    rows = b"".join((json.dumps(r) + "\n").encode() for r in ROWS)
    cases = {
        "cut.jsonl.gz": (gzip.compress(rows)[:-40], "truncated gzip stream"),
        "garbage.jsonl.gz": (b"\x1f\x8b" + b"not gzip at all" * 10, "not a gzip stream"),
        "bad.json": (b'[{"instruction": "a", "output": "b"}, {"instruction" 1}]', "invalid JSON"),
        "blob.jsonl": (b"\x00\x01" * 100, "binary content"),
        "table.csv": (b"colour,size\nblue,1\n", "not a dataset tunesmith recognises"),
    }
    for name, (content, words) in cases.items():
        r = alice.http.post("/v1/datasets", files={"file": (name, content)}, timeout=120)
        assert r.status_code == 422, (name, r.text)
        detail = r.json()["detail"]
        # the file is named as the server keeps it, relative to the store: never an absolute path
        assert words in detail and "uploads/" in detail, (name, detail)
        assert str(server.home) not in r.text and str(server.home.resolve()) not in r.text


def test_strict_types_refuse_booleans_as_numbers(alice) -> None:
    body = {"type": "curate", "dataset_id": "x", "config": {"near": {"threshold": True}}}
    r = alice.http.post("/v1/jobs", json=body)
    assert r.status_code == 400 and "config.near.threshold" in r.json()["detail"]
    # a whole float is an integer, as in JSON Schema; a fraction is not
    for value, status in ((3.0, 404), (3.5, 400)):  # 404: the dataset "x" does not exist
        config = {"quality": {"repetition_ngram": value}}
        r = alice.http.post(
            "/v1/jobs", json={"type": "curate", "dataset_id": "x", "config": config}
        )
        assert r.status_code == status, (value, r.text)


def test_tuple_fields_take_json_arrays(alice) -> None:
    config = {**QUICK, "quality": {"skip": []}, "pii": {"kinds": ["email"]}}
    r = alice.http.post("/v1/jobs", json={"type": "curate", "dataset_id": "x", "config": config})
    assert r.status_code == 404, r.text  # the body is valid: only the dataset is unknown


def test_rules_no_schema_states_are_422(alice) -> None:
    case = {"id": "a", "messages": [{"role": "assistant", "content": "Hi."}]}
    body = {"type": "eval", "model": "smollm2-135m", "suite": {"name": "s", "cases": [case]}}
    r = alice.http.post("/v1/jobs", json=body)
    assert r.status_code == 422 and "must end with a user turn" in r.json()["detail"], r.text


def test_too_many_multipart_parts(hardened, alice) -> None:
    parts = [(f"extra{i}", (None, "x")) for i in range(20)]
    parts.append(("file", ("rows.jsonl", json.dumps(ROWS[0]).encode())))
    r = alice.http.post("/v1/datasets", files=parts)
    assert r.status_code == 400 and "at most 16 parts" in r.json()["detail"], r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    server, _, _ = hardened
    assert not [p for p in (server.home / "uploads" / ".incoming").glob("*.part")]


def test_executor_block_is_refused(alice, dataset) -> None:
    for executor in ({"kind": "ray", "address": "ray://10.0.0.1:10001"}, {"kind": "local"}):
        config = {**QUICK, "executor": executor}
        r = alice.http.post(
            "/v1/jobs", json={"type": "curate", "dataset_id": dataset, "config": config}
        )
        # well-formed JSON breaking a rule of the request model: 422, saying which
        assert r.status_code == 422 and "config.executor" in r.json()["detail"], r.text


def test_artifacts_have_security_headers_and_no_server_paths(hardened, alice, dataset) -> None:
    server, _, _ = hardened
    job = alice.submit({"type": "curate", "dataset_id": dataset, "config": QUICK})
    done = alice.wait(job.id, timeout=600)
    assert done.state == "succeeded", done.error
    root = str(server.home)
    assert (
        root not in json.dumps(done.result)
        and root not in alice.http.get(f"/v1/jobs/{job.id}/events").text
    )
    listing = alice.artifacts(job.id).data
    assert any(a.name.endswith(".html") for a in listing)
    for artifact in listing:
        r = alice.http.get(artifact.url)
        assert r.status_code == 200
        assert r.headers["x-content-type-options"] == "nosniff"
        if artifact.media_type == "text/html":
            csp = r.headers["content-security-policy"]
            assert "default-src 'none'" in csp and "script-src" not in csp and "sandbox" in csp
        if artifact.name.endswith(".parquet"):
            import io

            import polars as pl

            frame = pl.read_parquet(io.BytesIO(r.content))
            text = frame.select(pl.col(pl.String)).write_csv()
        else:
            text = r.content.decode("utf-8", errors="replace")
        assert root not in text, artifact.name


def test_options_allow_lists_every_method(hardened) -> None:
    server, _, _ = hardened
    expected = {
        "/v1/jobs": {"GET", "POST", "OPTIONS"},
        "/v1/datasets": {"GET", "POST", "OPTIONS"},
        "/v1/datasets/abc": {"GET", "DELETE", "OPTIONS"},
        "/v1/jobs/abc/cancel": {"POST", "OPTIONS"},
    }
    for path, methods in expected.items():
        r = httpx.options(f"{server.url}{path}")
        assert r.status_code == 204
        assert {m.strip() for m in r.headers["allow"].split(",")} == methods, path
        assert r.headers["x-content-type-options"] == "nosniff"


def test_idempotency_key_expires(alice, dataset) -> None:
    body = {"type": "curate", "dataset_id": dataset, "config": QUICK}
    first = alice.http.post("/v1/jobs", json=body, headers={"Idempotency-Key": "k-expiry"})
    other = {**body, "config": {**QUICK, "near": {"threshold": 0.9}}}
    assert (
        alice.http.post("/v1/jobs", json=other, headers={"Idempotency-Key": "k-expiry"}).status_code
        == 422
    )
    time.sleep(2.5)  # the server remembers keys for 2 s (--idempotency-ttl 2)
    again = alice.http.post("/v1/jobs", json=other, headers={"Idempotency-Key": "k-expiry"})
    assert again.status_code == 202 and again.json()["id"] != first.json()["id"]
    assert "idempotent-replayed" not in again.headers
    for job_id in (first.json()["id"], again.json()["id"]):
        with contextlib.suppress(ConflictError):  # already finished
            alice.cancel(job_id)


def test_docs_page_loads_only_its_own_assets(hardened) -> None:
    server, _, _ = hardened
    page = httpx.get(f"{server.url}/schema")
    assert page.status_code == 200 and "cdn" not in page.text.lower()
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for src in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js"):
        assert f"/schema/assets/{src}" in page.text
        asset = httpx.get(f"{server.url}/schema/assets/{src}")
        assert asset.status_code == 200 and len(asset.content) > 100
    assert httpx.get(f"{server.url}/schema/assets/..%2F..%2Fserver.json").status_code == 404


def test_keys_work_while_the_server_runs(hardened) -> None:
    server, _, _ = hardened
    made = cli(server.home, "keys", "create", "--name", "while-running")
    assert made.returncode == 0, made.stderr
    new = made.stdout.strip()
    assert (
        httpx.get(f"{server.url}/v1/jobs", headers={"Authorization": f"Bearer {new}"}).status_code
        == 200
    )
    listed = cli(server.home, "keys", "list")
    assert "while-running" in listed.stdout
    key_id = new.split("_")[1]
    assert cli(server.home, "keys", "revoke", key_id).returncode == 0
    assert (
        httpx.get(f"{server.url}/v1/jobs", headers={"Authorization": f"Bearer {new}"}).status_code
        == 401
    )
    # the admin routes need the server's own secret, never a tenant key
    r = httpx.get(f"{server.url}/admin/keys/", headers={"Authorization": f"Bearer {new}"})
    assert r.status_code == 401


def test_orphaned_uploads_are_removed_at_start_up(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    key = new_key(home, "k")
    server = Server(home, ["--jobs", "curate=0"]).start()
    with server.client(key) as c:
        kept = c.create_dataset("kept", ROWS[:3])
    server.kill()  # a crash: no shutdown hook runs
    uploads = home / "uploads"
    orphan = uploads / ("0" * 64 + ".jsonl")  # renamed into place, then the server died
    orphan.write_text(json.dumps(ROWS[0]) + "\n", encoding="utf-8")
    for name in ("abc.part", "abc.duckdb", "abc.duckdb.wal"):
        (uploads / ".incoming" / name).write_bytes(b"partial")
    server = Server(home, ["--jobs", "curate=0"]).start()
    try:
        assert not orphan.exists()
        assert sorted(p.name for p in (uploads / ".incoming").glob("abc*")) == []
        assert (home / kept.path).is_file()  # files a dataset was read from stay
        with server.client(key) as c:
            assert c.get_dataset(kept.id).n_records == 3
    finally:
        server.stop()


def _gzip_bomb(path: Path, expanded_mb: int) -> None:
    """A ``.json.gz`` array that expands to ``expanded_mb`` MB from a few hundred KB: one
    compressed block of rows repeated as gzip members (a reader sees one long stream)."""
    row = json.dumps(ROWS[0]) + ","
    block = (row * ((1 << 20) // len(row))).encode()
    member = gzip.compress(block, compresslevel=9)
    with open(path, "wb") as f:
        f.write(gzip.compress(b"["))
        for _ in range(expanded_mb):
            f.write(member)
        f.write(gzip.compress(json.dumps(ROWS[1]).encode() + b"]"))


def test_gzip_bomb_is_refused_and_the_server_stays_small_and_responsive(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    key = new_key(home, "k")
    limits = ["--max-upload-mb", "64", "--ingest-memory-mb", "2048"]
    server = Server(home, ["--jobs", "curate=0", *limits]).start()
    bomb = tmp_path / "bomb.json.gz"
    _gzip_bomb(bomb, expanded_mb=3072)
    assert bomb.stat().st_size < 32 << 20
    proc = psutil.Process(server.proc.pid)  # type: ignore[union-attr]
    peak, health, stop = [0], [], threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            try:
                health.append(httpx.get(f"{server.url}/health", timeout=10).status_code)
            except httpx.HTTPError as e:
                health.append(type(e).__name__)
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with open(bomb, "rb") as f:
            r = httpx.post(
                f"{server.url}/v1/datasets",
                files={"file": ("bomb.json.gz", f)},
                headers={"Authorization": f"Bearer {key}"},
                timeout=600,
            )
    finally:
        stop.set()
        watcher.join()
        server.stop()
    # refused by the decompression guard (413, naming the bomb), not by the child running out
    # of memory, nor parsed in the server
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "expands" in r.json()["detail"] and "uploads/" in r.json()["detail"], r.text
    assert str(home) not in r.text
    assert not list((home / "uploads").glob("*.gz"))  # nothing left behind
    assert health and all(h == 200 for h in health), health
    assert peak[0] < 1 << 30, f"server RSS peaked at {peak[0] >> 20} MiB"
