"""A worker process: runs ONE job, then exits. ``python -m api.jobs.worker <job_dir>``.

The supervisor writes ``spec.json`` into the job's folder and starts this process in a new
session (so cancelling kills its whole process group). Events go to the supervisor as JSON
lines on the original stdout; anything the libraries print goes to ``worker.log``. On success
the step's result is written to ``result.json`` (atomically), so a restart that finds it knows
the work is done even if the server died before hearing about it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from api.masking import Masker

PARENT_POLL_S = 1.0


def _watch_parent(parent: int) -> None:
    """Exit when the server that started us dies: an orphaned worker would race its restart."""
    while True:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != parent:
            os._exit(3)


def _mask_files(artifacts: Path, mask: Masker) -> None:
    """Rewrite every artifact that names a server folder (reports, configs, Parquet)."""
    for path in sorted(artifacts.rglob("*")):
        if path.is_file() and not path.is_symlink():
            mask.file(path)


def _pack_folders(artifacts: Path) -> None:
    """Zip any folder a step left in its artifacts (an adapter) so it downloads as one file."""
    for child in sorted(artifacts.iterdir()):
        if child.is_dir():
            shutil.make_archive(str(child), "zip", root_dir=child)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(job_dir: str) -> int:
    """Run the job described by ``<job_dir>/spec.json``; returns the exit code."""
    folder = Path(job_dir)
    spec = json.loads((folder / "spec.json").read_text(encoding="utf-8"))
    parent = int(spec["parent_pid"])
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()

    # Keep the event pipe for ourselves; send stray prints (fd 1) to the log (fd 2).
    sink = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    from api import names
    from api.jobs.context import JobContext
    from api.jobs.runners import parse_request, runner
    from api.masking import Masker

    mask = Masker([tuple(pair) for pair in spec.get("masks", [])])

    artifacts = folder / "artifacts"
    artifacts.mkdir(exist_ok=True)
    ctx = JobContext(
        job_id=spec["job_id"],
        attempt=int(spec["attempt"]),
        dir=folder,
        artifacts=artifacts,
        datasets={k: Path(v) for k, v in spec["datasets"].items()},
        jobs={k: Path(v) for k, v in spec["jobs"].items()},
        sink=sink,
        mask=mask.obj,
    )
    try:
        request = names.resolve(parse_request(spec["request"]), spec["type"], spec.get("names", {}))
        run = runner(spec["type"])
        stoppable = getattr(sys.modules[run.__module__], "STOPPABLE", False)

        def on_term(signum: int, frame: object) -> None:
            ctx.stop.set()  # a step that can stop cleanly gets the grace period to do so
            if not stoppable:
                raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, on_term)
        outcome = run(request, ctx)
        _mask_files(artifacts, mask)
        _pack_folders(artifacts)
        _write_atomic(
            folder / "result.json",
            json.dumps({"result": mask.obj(outcome.result), "verdict": outcome.verdict}),
        )
    except BaseException as e:  # the server records the reason; the traceback goes to the log
        traceback.print_exc()
        ctx.emit("error", {"error": f"{type(e).__name__}: {e}", "kind": type(e).__name__})
        return 1
    ctx.emit("done", {})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
