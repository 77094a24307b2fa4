"""End to end against a real server: upload the 9k Alpaca set, curate it as a job followed on
the SSE stream, download the outputs; cancel a running job (its worker really dies); SIGKILL the
server in the middle of a job, restart it, and find the job accounted for and the store intact."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import polars as pl
import pytest

from curate.store.store import Store
from tests.api.conftest import Server, new_key

pytestmark = pytest.mark.slow

FAST = {name: {"enabled": False} for name in ("semantic", "contradictions", "diversity")}
"""No embedding steps: seconds on two cores (embedding 9k rows takes minutes)."""


def worker_pids(job_id: str) -> list[int]:
    """Live worker processes of a job, found by their command line."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"api.jobs.worker" in cmd and job_id.encode() in cmd:
            pids.append(int(proc.name))
    return pids


def wait_for(predicate, timeout: float = 120, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("e2e") / "home"
    home.mkdir()
    key = new_key(home, "pipeline")
    server = Server(home, ["--jobs", "curate=1"]).start()
    yield server, key
    server.stop()


@pytest.fixture(scope="module")
def alpaca(live, shared_data: Path):
    server, key = live
    with server.client(key) as c:
        return c.upload_dataset(shared_data / "alpaca_random_9k.json", name="alpaca-9k")


def test_curate_job_streamed_and_downloaded(live, alpaca, tmp_path: Path) -> None:
    server, key = live
    assert (alpaca.n_rows, alpaca.n_rejects, alpaca.shape) == (9229, 0, "alpaca")
    with server.client(key) as c:
        job = c.submit({"type": "curate", "dataset_id": alpaca.id, "config": FAST})
        events = list(c.stream(job.id))
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        states = [e.data["state"] for e in events if e.type == "state"]
        assert states == ["queued", "running", "succeeded"]
        steps = [e.data["step"] for e in events if e.type == "progress"]
        assert steps[:2] == ["exact_dedup", "near_dedup"]

        done = c.get_job(job.id)
        assert done.state == "succeeded" and done.verdict is None and done.attempts == 1
        result = done.result
        assert result["n_input_rows"] == 9229 == result["n_records"] + result["n_rejected"]
        assert result["n_kept"] + result["n_dropped"] == result["n_records"]
        assert sum(result["findings_by_check"].values()) > 0  # e.g. placeholder inputs

        names = {a.name for a in c.artifacts(job.id).data}
        assert {"report.json", "curated.parquet"} <= names
        report = json.loads(c.download(job.id, "report.json", tmp_path / "r.json").read_text())
        assert report["run_id"] == result["run_id"] and report["n_kept"] == result["n_kept"]
        curated = pl.read_parquet(c.download(job.id, "curated.parquet", tmp_path / "c.parquet"))
        assert curated.height == result["n_kept"]


def test_cancel_kills_the_running_worker(live, alpaca) -> None:
    server, key = live
    with server.client(key) as c:
        # semantic dedup embeds 9k texts: minutes of work, so the job is surely still running
        job = c.submit({"type": "curate", "dataset_id": alpaca.id})
        wait_for(lambda: c.get_job(job.id).state == "running" and worker_pids(job.id))
        pids = worker_pids(job.id)
        c.cancel(job.id)
        final = c.wait(job.id, timeout=60)
        assert final.state == "cancelled" and final.result is None
        assert not any(Path(f"/proc/{p}").exists() and worker_pids(job.id) for p in pids)
        assert [e.data["state"] for e in c.events(job.id).data if e.type == "state"][-2:] == [
            "cancelling",
            "cancelled",
        ]


def test_server_crash_mid_job_is_recovered(live, alpaca) -> None:
    server, key = live
    with server.client(key) as c:
        job = c.submit(
            {
                "type": "curate",
                "dataset_id": alpaca.id,
                "config": {**FAST, "near": {"threshold": 0.8}},
            }
        )
        wait_for(lambda: any(e.type == "progress" for e in c.events(job.id).data))
        pids = worker_pids(job.id)
        assert pids
    server.kill()  # SIGKILL: no shutdown hook runs
    # the orphaned worker notices its parent is gone and exits (it must not race the restart)
    wait_for(
        lambda: not any(os.path.exists(f"/proc/{p}") and worker_pids(job.id) for p in pids),
        timeout=30,
    )
    server.start()
    with server.client(key) as c:
        final = c.wait(job.id, timeout=300)
        assert final.state == "succeeded" and final.attempts == 2
        kinds = [e.type for e in c.events(job.id).data]
        assert "interrupted" in kinds
        interrupted = next(e for e in c.events(job.id).data if e.type == "interrupted")
        assert interrupted.data["resume"] is True
        states = [e.data["state"] for e in c.events(job.id).data if e.type == "state"]
        assert states == ["queued", "running", "queued", "running", "succeeded"]
        jobs = {j.id: j for j in c.list_jobs(limit=100).data}
        assert all(j.state in ("succeeded", "cancelled") for j in jobs.values())
    server.stop()
    # the store is intact: it opens, and holds the dataset, every job, and the merged runs
    with Store(server.home / "tunesmith.duckdb", read_only=True) as store:
        assert store.get_dataset(alpaca.id).n_records == 9229
        (n_jobs,) = store.con.execute("SELECT count(*) FROM jobs").fetchone()
        assert n_jobs == len(jobs)
        run_ids = {r[0] for r in store.con.execute("SELECT id FROM curation_runs").fetchall()}
        assert final.result["run_id"] in run_ids
    server.start()  # leave it running for the module's teardown


def _failing_comparison() -> dict:
    """A real comparison (evalsuite.compare) where the tuned model broke every canary."""
    from evalsuite import compare
    from tests.evalsuite.conftest import make_run

    tags = [["canary"]] * 24
    base = make_run({"pass": [1.0] * 24}, tags=tags)
    tuned = make_run({"pass": [0.0] * 24}, tags=tags)
    return compare(base, tuned).model_dump(mode="json")


def test_gate_job_succeeds_while_its_verdict_fails(live, tmp_path: Path) -> None:
    server, key = live
    comparison = _failing_comparison()
    with server.client(key) as c:
        direct = c.http.post("/v1/gate", json={"comparison": comparison})
        assert direct.status_code == 200 and direct.json()["verdict"] == "fail"
        job = c.submit({"type": "gate", "comparison": comparison})
        done = c.wait(job.id, timeout=120)
        assert (done.state, done.verdict) == ("succeeded", "fail")
        assert done.result["verdict"] == "fail" and done.result["canaries_regressed"]
        assert {"gate.json", "junit.xml"} <= {a.name for a in c.artifacts(job.id).data}
        gate = json.loads(c.download(job.id, "gate.json", tmp_path / "g.json").read_text())
        assert gate["verdict"] == "fail"
        failed = c.list_jobs(type="gate").data[0]
        assert (failed.state, failed.verdict) == ("succeeded", "fail")
        # a gate job over an eval job that does not exist is refused before it is queued
        r = c.http.post("/v1/jobs", json={"type": "gate", "eval_job_id": "job_nope"})
        assert r.status_code == 404


def test_synthesize_job_runs_the_real_model_and_its_cache_reaches_the_store(live) -> None:
    server, key = live
    rows = [
        {"instruction": "Name a colour.", "output": ""},
        {"instruction": "Say hi.", "output": "hi"},
    ]
    config = {"max_tokens": 8, "limit": 2, "teacher_select": "all", "options": {"threads": 1}}
    with server.client(key) as c:
        dataset = c.create_dataset("synth-tiny", rows)
        job = c.submit(
            {"type": "synthesize", "task": "teacher", "dataset_id": dataset.id, "config": config}
        )
        done = c.wait(job.id, timeout=300)
        assert done.state == "succeeded", done.error
        assert done.result["n_generated"] == 2
        assert {"records.jsonl", "report.json"} <= {a.name for a in c.artifacts(job.id).data}
        merged = [
            e for e in c.events(job.id).data if e.data.get("message") == "merged into the store"
        ]
        assert merged and merged[0].data["rows"]["generations"] == 2
