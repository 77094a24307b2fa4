"""The work folder of a distributed run: one folder per stage, and a marker when it is finished.

A stage writes its output into ``<root>/<stage>/`` and, only after the output is complete, the
marker ``<root>/<stage>.done`` (a small JSON of the stage's figures), written to a temporary
file and renamed into place, so a marker exists only for a stage that finished. A rerun of the
same run (same input and config: same run id, same folder) skips every stage with a marker and
redoes, from scratch, any stage without one. ``stages.jsonl`` logs what each attempt did.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class WorkDir:
    """Stage outputs and their completion markers under one folder."""

    def __init__(self, root: str | Path, log: Path | None = None) -> None:
        self.root = Path(root)
        """The folder (one per run, or a step's subfolder)."""
        self.log_path = log or self.root / "stages.jsonl"
        """Where each stage's outcome (``done`` or ``skipped``) is appended."""

    def sub(self, name: str) -> WorkDir:
        """A subfolder for one step's stages, logging to the same file."""
        return WorkDir(self.root / name, self.log_path)

    def path(self, stage: str) -> Path:
        """The output folder of a stage."""
        return self.root / stage

    def done(self, stage: str) -> bool:
        """Whether the stage finished in this or an earlier attempt."""
        return (self.root / f"{stage}.done").is_file()

    def meta(self, stage: str) -> dict[str, Any]:
        """The figures a finished stage recorded in its marker."""
        data: dict[str, Any] = json.loads((self.root / f"{stage}.done").read_text("utf-8"))
        return data

    def stage(self, stage: str, compute: Callable[[Path], dict[str, Any] | None]) -> dict[str, Any]:
        """Run a stage unless it finished before; return its figures either way.

        Args:
            stage: the stage's name (unique within this folder).
            compute: writes the stage's output into the folder it is given and returns figures
                (JSON-serialisable) to keep in the marker.
        """
        if self.done(stage):
            self._log(stage, "skipped", 0.0)
            return self.meta(stage)
        folder = self.path(stage)
        # A folder without a marker is what an interrupted attempt left: start it over.
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        started = time.perf_counter()
        meta = compute(folder) or {}
        marker = self.root / f"{stage}.done"
        tmp = marker.with_suffix(".done.tmp")
        # Key order kept: figures read back from a marker must print as a fresh run prints them.
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, marker)
        self._log(stage, "done", time.perf_counter() - started)
        return meta

    def _log(self, stage: str, status: str, seconds: float) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        name = str((self.root / stage).relative_to(self.log_path.parent))
        line = {"stage": name, "status": status, "seconds": round(seconds, 3), "pid": os.getpid()}
        with self.log_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")


def read_log(root: str | Path) -> list[dict[str, Any]]:
    """The entries of a run folder's ``stages.jsonl`` (empty when there is none)."""
    path = Path(root) / "stages.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
