"""The CLI as a user runs it: a real subprocess, real files, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TUNESMITH_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_ingest_prints_counts_and_is_idempotent(tmp_path: Path, shared_data: Path) -> None:
    home = tmp_path / "home"
    first = _cli("ingest", str(shared_data / "dpo_en_demo.json"), "--json", home=home)
    assert first.returncode == 0, first.stderr
    info = json.loads(first.stdout)
    assert (info["shape"], info["n_records"], info["n_rejects"]) == ("sharegpt", 300, 0)
    again = json.loads(
        _cli("ingest", str(shared_data / "dpo_en_demo.json"), "--json", home=home).stdout
    )
    assert again["id"] == info["id"]
    listed = json.loads(_cli("datasets", "--json", home=home).stdout)
    assert [d["id"] for d in listed] == [info["id"]]


def test_broken_rows_are_counted_with_reasons(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text('{"prompt": "p", "completion": "c"}\n{"prompt": \n{"prompt": "p2"}\n')
    out = _cli("ingest", str(path), home=tmp_path / "home")
    assert out.returncode == 0, out.stderr
    assert "rows 3: 1 records, 2 rejected" in out.stdout
    assert "invalid_json: 1" in out.stdout and "missing_field: 1" in out.stdout


def test_exit_codes(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    bad = _cli("ingest", str(junk), home=tmp_path / "home")
    assert bad.returncode == 2 and "junk.bin" in bad.stderr
    usage = _cli("ingest", home=tmp_path / "home")
    assert usage.returncode == 2
    assert _cli("--help", home=tmp_path / "home").returncode == 0
    assert _cli("ingest", "--help", home=tmp_path / "home").returncode == 0
