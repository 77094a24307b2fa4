"""``tunesmith curate`` with stdout a pipe (CI, nohup, the job worker): one line per step when it
starts and one when it ends, with elapsed seconds and records/s, and nothing from third parties
(warnings, progress bars, advisory logging) in the output."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "samples" / "instructions.jsonl"
TUNESMITH = [sys.executable, "-c", "from api.cli import main; main()"]

STARTED = re.compile(
    r"^\d\d:\d\d:\d\d curate: step (\d+)/(\d+) (\w+) started \(([\d,]+) records\)$"
)
DONE = re.compile(
    r"^\d\d:\d\d:\d\d curate: step (\d+)/(\d+) (\w+) done in (\d+\.\d) s \(([\d,]+|inf) records/s\)$"
)
NOISE = ("Warning", "warn(", "it/s]", "%|", "\r", "Batches:", "Loading", "huggingface")
"""What third-party output looks like: Python warnings, tqdm bars, the Hugging Face libraries'
advisories and load bars."""
OURS = re.compile(r"^\d\d:\d\d:\d\d curate: ")
"""tunesmith's own log lines."""


def _curate(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TUNESMITH_DEBUG"}
    env.update(TUNESMITH_HOME=str(tmp_path / "home"), OMP_NUM_THREADS="1")
    return subprocess.run(
        [*TUNESMITH, "curate", str(SAMPLE), "--out", str(tmp_path / "out"), *extra],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream, as nohup writes it
        text=True,
        timeout=600,
    )


def _assert_step_lines(output: str, out_dir: Path) -> None:
    lines = output.splitlines()
    timings = json.loads((out_dir / "timings.json").read_text())
    steps = [name for name in timings if name not in ("total", "pii_redact")]
    started = [m.groups() for m in map(STARTED.match, lines) if m]
    done = [m.groups() for m in map(DONE.match, lines) if m]
    # one start and one end line per step, in the pipeline's order
    assert [g[2] for g in started] == steps
    assert [g[2] for g in done] == steps
    total = str(len(steps))
    assert all(g[1] == total for g in started + done)
    assert [int(g[0]) for g in started] == list(range(1, len(steps) + 1))
    assert int(started[0][3].replace(",", "")) == 40  # the sample's records
    for (_, _, _, seconds, _), step in zip(done, steps, strict=True):
        assert abs(float(seconds) - timings[step]) <= 0.1 + 0.05 * timings[step]
    # our own lines aside (the step lines, and a count of the warnings held back)
    for line in (x for x in lines if not OURS.match(x)):
        for noise in NOISE:
            assert noise not in line, f"third-party output leaked: {line!r}"


def test_off_a_terminal_each_step_logs_its_start_and_end(tmp_path: Path) -> None:
    done = _curate(tmp_path)
    assert done.returncode == 0, done.stdout[-4000:]
    _assert_step_lines(done.stdout, tmp_path / "out")
    assert "curated " in done.stdout  # the summary still follows


@pytest.mark.slow
def test_a_sentence_transformers_model_leaks_nothing_off_a_terminal(
    tmp_path: Path, minilm_path: str
) -> None:
    # transformers and sentence-transformers are where bars and advisories come from
    config = tmp_path / "curate.toml"
    config.write_text('[semantic]\nmodel = "minilm"\n')
    done = _curate(tmp_path, "--config", str(config))
    assert done.returncode == 0, done.stdout[-4000:]
    _assert_step_lines(done.stdout, tmp_path / "out")
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["figures"]["semantic_dedup"]["model"] == "minilm"
