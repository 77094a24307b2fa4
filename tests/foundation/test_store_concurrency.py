"""One store, several processes: real DuckDB files, real ``tunesmith`` processes, no mocks.

A curation in progress does not hold the store between its reads and writes, so a second
command answers at once; a command that finds the file held (by a write in progress) waits,
says once who holds it, and carries on when it is free, or gives up naming the holder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

TUNESMITH = Path(sys.executable).with_name("tunesmith")
LIMIT = 300  # seconds: only a bound on a hung child, never asserted


def _cli(*args: str, home: Path, wait: float, **popen: Any) -> subprocess.Popen[str]:
    """A ``tunesmith`` process on the store in ``home``, waiting at most ``wait`` s for it."""
    env = {**os.environ, "TUNESMITH_HOME": str(home), "TUNESMITH_STORE_WAIT": str(wait)}
    cmd = (
        [str(TUNESMITH), *args] if TUNESMITH.exists() else [sys.executable, "-m", "api.cli", *args]
    )
    return subprocess.Popen(cmd, env=env, text=True, **popen)


def _run_cli(*args: str, home: Path, wait: float) -> subprocess.CompletedProcess[str]:
    proc = _cli(*args, home=home, wait=wait, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=LIMIT)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _until(done, what: str) -> None:
    deadline = time.monotonic() + LIMIT
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


def _dataset(tmp_path: Path, name: str = "d.jsonl", n: int = 12) -> Path:
    path = tmp_path / name
    rows = [
        {"instruction": f"Explain topic {i} ({name}) to a beginner.", "output": f"Topic {i} is..."}
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# A process that takes the store and keeps a write transaction open until told to stop.
HOLD = """
import pathlib, sys, time
from curate.store.store import Store
store = Store(sys.argv[1])
with store.transaction() as con:
    con.execute("CREATE TABLE IF NOT EXISTS held (x INTEGER)")
    con.execute("INSERT INTO held VALUES (1)")
    pathlib.Path(sys.argv[2]).write_text("holding")
    while not pathlib.Path(sys.argv[3]).exists():
        time.sleep(0.05)
store.close()
"""


@pytest.fixture()
def held(tmp_path: Path):
    """A store with one dataset, and a factory starting a process that holds its file."""
    home = tmp_path / "home"
    ingested = _run_cli("ingest", str(_dataset(tmp_path)), home=home, wait=10)
    assert ingested.returncode == 0, ingested.stderr
    children: list[subprocess.Popen] = []

    def hold() -> tuple[subprocess.Popen, Path]:
        ready, go = tmp_path / f"ready{len(children)}", tmp_path / f"go{len(children)}"
        db = str(home / "tunesmith.duckdb")
        proc = subprocess.Popen([sys.executable, "-c", HOLD, db, str(ready), str(go)])
        children.append(proc)
        _until(ready.exists, "the holder to take the store")
        return proc, go

    yield home, hold
    for proc in children:
        proc.kill()
        proc.wait()


def test_a_reader_and_a_writer_wait_for_a_write_in_progress_then_succeed(held, tmp_path):
    home, hold = held
    holder, go = hold()
    err_r, err_w = tmp_path / "reader.err", tmp_path / "writer.err"
    with err_r.open("w") as er, err_w.open("w") as ew:
        reader = _cli(
            "datasets", "--json", home=home, wait=LIMIT, stdout=subprocess.PIPE, stderr=er
        )
        writer = _cli(
            "ingest",
            str(_dataset(tmp_path, "e.jsonl")),
            home=home,
            wait=LIMIT,
            stdout=subprocess.PIPE,
            stderr=ew,
        )
        # both say, once, who they wait for, while the holder still holds the file
        _until(lambda: "waiting for the store" in err_r.read_text(), "the reader to wait")
        _until(lambda: "waiting for the store" in err_w.read_text(), "the writer to wait")
        assert holder.poll() is None
        go.touch()
        out_r, _ = reader.communicate(timeout=LIMIT)
        writer.communicate(timeout=LIMIT)
    assert holder.wait(timeout=LIMIT) == 0
    for proc, err in ((reader, err_r), (writer, err_w)):
        text = err.read_text()
        assert proc.returncode == 0, text
        waits = [line for line in text.splitlines() if "waiting for the store" in line]
        # said once per holder: first the holder, then maybe the other one of the pair
        assert f"PID {holder.pid} (" in waits[0] and len(waits) == len(set(waits)) <= 2
        assert "internal error" not in text
    # the reader saw the held write; the waiting writer may have committed before it read
    assert "d" in [d["name"] for d in json.loads(out_r)]
    after = _run_cli("datasets", "--json", home=home, wait=10)
    assert sorted(d["name"] for d in json.loads(after.stdout)) == ["d", "e"]


def test_a_store_held_past_the_wait_fails_with_a_conflict_naming_the_holder(held):
    home, hold = held
    holder, go = hold()
    probe = (
        "import sys\nfrom curate.errors import ConflictError, StoreBusy\n"
        "from curate.store.store import Store\n"
        "try:\n    Store(sys.argv[1], wait=0.3)\nexcept StoreBusy as e:\n"
        "    print(isinstance(e, ConflictError), e)\n"
    )
    db = str(home / "tunesmith.duckdb")
    found = subprocess.run(
        [sys.executable, "-c", probe, db], capture_output=True, text=True, timeout=LIMIT
    )
    go.touch()
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith("True ") and f"PID {holder.pid}" in found.stdout
    assert "internal error" not in found.stderr


def test_a_second_writer_held_off_past_the_wait_exits_2_naming_the_holder(held, tmp_path):
    home, hold = held
    holder, go = hold()
    second = _run_cli("ingest", str(_dataset(tmp_path, "e.jsonl")), home=home, wait=0.3)
    go.touch()
    assert "internal error" not in second.stderr
    assert f"PID {holder.pid}" in second.stderr
    assert second.returncode == 2, second.stderr


# A curation that stops at each stage (before each step, and when done) until told to go on.
CURATE = """
import json, pathlib, sys, time
import curate
base = pathlib.Path(sys.argv[1])
config = curate.CurateConfig.from_data(json.loads(sys.argv[2]))
stages = []
def pause(stage, done, total):
    stages.append(stage)
    n = len(stages)
    (base / f"stage{n}").write_text(stage)
    while not (base / f"ack{n}").exists():
        time.sleep(0.02)
curate.run("d", config, out_dir=base / "out", progress=pause)
(base / "finished").write_text(json.dumps(stages))
"""


def _curate_while_reading(held, tmp_path: Path, config: dict) -> list[tuple[str, str]]:
    """Read the store, never waiting, at every stage of a curation running in another process;
    at its third stage through ``tunesmith datasets``. Returns (stage, error) where one failed."""
    from curate.store.store import Store

    home, _ = held
    env = {**os.environ, "TUNESMITH_HOME": str(home), "TUNESMITH_STORE_WAIT": str(LIMIT)}
    job = subprocess.Popen(
        [sys.executable, "-c", CURATE, str(tmp_path), json.dumps(config)], env=env
    )
    stages: list[str] = []
    failed: list[tuple[str, str]] = []
    try:
        while True:
            stage = tmp_path / f"stage{len(stages) + 1}"
            _until(lambda s=stage: s.exists() or job.poll() is not None, "the next stage")
            if not stage.exists():
                break
            stages.append(stage.read_text())
            if len(stages) == 3:
                read = _run_cli("datasets", home=home, wait=0)
                if read.returncode != 0 or "d " not in read.stdout:
                    failed.append((stages[-1], f"exit {read.returncode}: {read.stderr}"))
            else:
                try:
                    with Store(home / "tunesmith.duckdb", wait=0) as store:
                        assert [d.name for d in store.list_datasets()] == ["d"]
                except Exception as e:  # any failure is reported with its stage
                    failed.append((stages[-1], f"{type(e).__name__}: {e}"))
            (tmp_path / f"ack{len(stages)}").touch()
        assert job.wait(timeout=LIMIT) == 0
    finally:
        job.kill()
    assert json.loads((tmp_path / "finished").read_text()) == stages
    assert {"exact_dedup", "quality", "pii", "done"} <= set(stages)
    return failed


NO_EMBEDDINGS = {
    "semantic": {"enabled": False},
    "contradictions": {"enabled": False},
    "diversity": {"enabled": False},
}


@pytest.mark.slow
def test_a_curation_in_progress_does_not_hold_the_store(held, tmp_path):
    assert _curate_while_reading(held, tmp_path, NO_EMBEDDINGS) == []


@pytest.mark.slow
def test_a_curation_that_embeds_does_not_hold_the_store_either(held, tmp_path):
    assert _curate_while_reading(held, tmp_path, {}) == []
