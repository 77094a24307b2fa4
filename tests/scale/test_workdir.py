"""Stage markers: a stage runs once, a finished stage is skipped, an unfinished one restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from curate.executors.workdir import WorkDir, read_log


def test_finished_stage_is_skipped_and_keeps_its_figures(tmp_path: Path) -> None:
    calls = []

    def compute(folder: Path) -> dict:
        calls.append(folder)
        (folder / "out.txt").write_text("x")
        return {"rows": 3}

    work = WorkDir(tmp_path)
    assert work.stage("a", compute) == {"rows": 3}
    assert WorkDir(tmp_path).stage("a", compute) == {"rows": 3}
    assert len(calls) == 1
    assert [e["status"] for e in read_log(tmp_path)] == ["done", "skipped"]


def test_interrupted_stage_starts_over(tmp_path: Path) -> None:
    def crash(folder: Path) -> dict:
        (folder / "partial.txt").write_text("half")
        raise RuntimeError("killed")

    work = WorkDir(tmp_path)
    with pytest.raises(RuntimeError):
        work.stage("a", crash)
    assert not work.done("a")
    assert (tmp_path / "a" / "partial.txt").exists()

    def finish(folder: Path) -> dict:
        assert list(folder.iterdir()) == []  # the partial output was cleared first
        return {}

    work.stage("a", finish)
    assert work.done("a")
    assert not list(tmp_path.glob("*.tmp"))


def test_sub_folders_log_to_the_run_log(tmp_path: Path) -> None:
    WorkDir(tmp_path).sub("01-near_dedup").stage("signatures", lambda f: None)
    assert read_log(tmp_path)[0]["stage"] == "01-near_dedup/signatures"
