"""``tunesmith curate --executor ray`` on a local Ray instance: the same files as the local
executor on 50,000 real records, and a run killed with SIGKILL resumes from its finished stages;
and, with every step on (semantic dedup and the audit steps that embed), the same files again,
the embeddings computed by the Ray Data actor pool.

The corpus has 10,000 records by default and 50,000 with ``TUNESMITH_SCALE_50K=1``: on the
shared 2-core development machine a 50k Ray run took far more than the two minutes this test may
spend in CI (Ray's per-stage overhead under load), so the 50k comparison is opt-in. The resume
test keeps the embedding-based checks off (it is about the distributed dedup stages); the
every-step test runs on 3,000 records.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curate.executors.workdir import read_log

pytestmark = pytest.mark.slow

OUTPUTS = ("curated.parquet", "findings.parquet", "rejects.parquet", "report.json")
TUNESMITH = [sys.executable, "-c", "from api.cli import main; main()"]


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "TUNESMITH_HOME": str(home), "OMP_NUM_THREADS": "1"}


KEEP = ("exact", "near", "quality", "pii")
"""Sections left on in the resume test: both distributed steps and two driver steps. The steps
that embed are the every-step test's (on fewer records: the resume test runs three times)."""


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from curate.pipeline.config import CurateConfig

    off = [
        f"[{name}]\nenabled = false\n"
        for name, field in CurateConfig.model_fields.items()
        if name not in KEEP and "enabled" in getattr(field.annotation, "model_fields", {})
    ]
    path = tmp_path_factory.mktemp("config") / "curate.toml"
    path.write_text("\n".join(off))
    return path


def _curate(corpus: Path, config: Path, out: Path, home: Path, *extra: str) -> list[str]:
    return [*TUNESMITH, "curate", str(corpus), "--config", str(config), "--out", str(out), *extra]


def _wait_for(log_root: Path, stage: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in log_root.glob("*"):
            if any(e["stage"] == stage and e["status"] == "done" for e in read_log(run)):
                return
        if proc.poll() is not None:
            pytest.fail(f"the run ended (rc {proc.returncode}) before stage {stage} finished")
        time.sleep(0.2)
    pytest.fail(f"stage {stage} did not finish within {timeout} s")


def test_killed_ray_run_resumes_and_matches_local(
    scale_corpus: Path, config_file: Path, ray_address: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    local = subprocess.run(
        _curate(scale_corpus, config_file, tmp_path / "local", home),
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert local.returncode == 0, local.stderr

    work = tmp_path / "work"
    ray_cmd = _curate(
        scale_corpus,
        config_file,
        tmp_path / "ray",
        home,
        "--executor",
        "ray",
        "--ray-address",
        ray_address,
        "--work-dir",
        str(work),
    )
    first = subprocess.Popen(
        ray_cmd, env=_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for(work, "01-near_dedup/signatures", first, timeout=400)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL
    assert not (tmp_path / "ray" / "report.json").exists()

    second = subprocess.run(ray_cmd, env=_env(home), capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr

    (run_dir,) = list(work.iterdir())
    log = read_log(run_dir)
    rerun = [e for e in log if e["pid"] != log[0]["pid"]]
    status = {e["stage"]: e["status"] for e in rerun}
    # Finished before the kill: skipped. Not reached: computed now.
    assert status["step-00-exact_dedup"] == "skipped"
    assert status["01-near_dedup/signatures"] == "skipped"
    assert status["01-near_dedup/candidates"] == "done"
    assert status["step-01-near_dedup"] == "done"

    for name in OUTPUTS:
        a = (tmp_path / "local" / name).read_bytes()
        b = (tmp_path / "ray" / name).read_bytes()
        assert a == b, f"{name} differs between the local and the ray executor"
    # The comparison means something: the planted copies were found and dropped.
    report = (tmp_path / "local" / "report.json").read_text()
    assert '"exact_duplicate"' in report and '"near_duplicate"' in report


def test_ray_matches_local_with_semantic_dedup_and_every_step_on(
    small_corpus: Path, ray_address: str, tmp_path: Path
) -> None:
    # Each executor gets its own store: with one, the second run would find every vector in
    # the embedding cache and the actor pool would encode nothing.
    outs = {}
    for kind in ("local", "ray"):
        home, out = tmp_path / f"home-{kind}", tmp_path / kind
        extra = ["--executor", "ray", "--ray-address", ray_address] if kind == "ray" else []
        cmd = [*TUNESMITH, "curate", str(small_corpus), "--out", str(out), *extra]
        if kind == "ray":
            cmd += ["--work-dir", str(tmp_path / "work")]
        done = subprocess.run(cmd, env=_env(home), capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-4000:]
        outs[kind] = out

    for name in OUTPUTS:
        a, b = ((outs[k] / name).read_bytes() for k in ("local", "ray"))
        assert a == b, f"{name} differs between the local and the ray executor"

    (run_dir,) = list((tmp_path / "work").iterdir())
    embedded = [e for e in read_log(run_dir) if e["stage"].startswith("embeddings/embed-")]
    assert embedded and all(e["status"] == "done" for e in embedded)
    # The comparison means something: semantic dedup dropped records, the audit steps ran.
    report = json.loads((outs["local"] / "report.json").read_text())
    assert report["dropped_by_reason"].get("semantic_duplicate", 0) > 0
    assert report["figures"]["format"]["task_clustering"] == "embeddings"
    assert report["figures"]["diversity"]["embedding"] is not None
    assert report["figures"]["contradictions"] is not None
