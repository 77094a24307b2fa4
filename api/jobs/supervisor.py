"""The supervisor: runs queued jobs in worker processes, within per-type limits, from the
server's lifespan; cancels by killing the worker's process group; recovers after a restart.

Jobs run outside requests, one process per job (``api.jobs.worker``), so a cancel really stops
the work (SIGTERM, then SIGKILL after a grace period) and a crash in a step cannot take the
server down. The supervisor is the only writer of job states besides ``cancel``; all of it runs
on the event loop's thread. Recovery at start-up: a job still marked running or cancelling had
its worker killed with the server. If its worker had finished (``result.json`` exists) it
succeeds; a cancelling one is cancelled; otherwise it is *interrupted*: queued again when its
type can resume (curation and synthesis reuse the caches in the job's store), else failed with
the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import api
from api.config import JOB_TYPES, ServerConfig
from api.db import Db
from api.jobs import caches, queue
from api.jobs.runners import resumable
from api.masking import Masker
from api.schemas import Job

log = logging.getLogger("tunesmith.jobs")
EVENT_LINE_LIMIT = 4 << 20
"""Longest event line a worker may send (bytes)."""


class Notifier:
    """Wakes everyone waiting (SSE streams) when any job changes."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        """Return on the next change, or after ``timeout`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)


def _kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _is_our_worker(pid: int, job_id: str) -> bool:
    """Whether ``pid`` is still the worker of ``job_id`` (pids get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"api.jobs.worker" in cmdline and any(job_id.encode() in part for part in cmdline)


class Supervisor:
    """Starts, watches, cancels and recovers job workers."""

    def __init__(self, db: Db, config: ServerConfig, masker: Masker) -> None:
        self.db = db
        self.config = config
        self.masker = masker
        self.changes = Notifier()
        self.active: Counter[str] = Counter()
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False

    def job_dir(self, job_id: str) -> Path:
        """A job's folder (``job_id`` is server-made and already looked up)."""
        return self.db.root / "jobs" / job_id

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover jobs left unfinished by the last server, then start scheduling."""
        await self.recover()
        self._loop = asyncio.create_task(self._schedule_loop())

    async def stop(self) -> None:
        """Stop scheduling and kill running workers; their jobs are recovered on next start."""
        self._stopping = True
        if self._loop:
            self._loop.cancel()
        for proc in list(self._procs.values()):
            _kill_group(proc.pid, signal.SIGKILL)
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=10)

    def wake(self) -> None:
        """Look for queued work now (a job was submitted or a slot freed)."""
        self._wake.set()
        self.changes.notify()

    async def recover(self) -> None:
        """Account for every job the previous server left running or cancelling."""
        store = self.db.main
        for job in queue.unfinished(store):
            pid = queue.worker_of(store, job.id)
            if pid and _is_our_worker(pid, job.id):
                _kill_group(pid, signal.SIGKILL)
                for _ in range(100):  # it must release the job's store before anyone reopens it
                    if not _is_our_worker(pid, job.id):
                        break
                    await asyncio.sleep(0.05)
            folder = self.job_dir(job.id)
            await self._merge(job)
            if job.state == "cancelling":
                queue.finish(store, job.id, "cancelled")
            elif (folder / "result.json").is_file():
                self._succeed(job)
            elif resumable(job.type):
                queue.add_event(
                    store, job.id, "interrupted", {"reason": "server restarted", "resume": True}
                )
                queue.finish(store, job.id, "queued")
            else:
                queue.add_event(
                    store, job.id, "interrupted", {"reason": "server restarted", "resume": False}
                )
                queue.finish(
                    store,
                    job.id,
                    "failed",
                    error=(
                        f"interrupted by a server restart; a {job.type} job cannot resume, "
                        "submit it again"
                    ),
                )

    # -- scheduling -----------------------------------------------------------------------------

    async def _schedule_loop(self) -> None:
        while True:
            try:
                self._schedule()
            except Exception:  # keep scheduling: one bad row must not stop every job
                log.exception("scheduling failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.poll_s)
            self._wake.clear()

    def _schedule(self) -> None:
        for job_type in JOB_TYPES:
            while not self._stopping and self.active[job_type] < self.config.limit(job_type):
                job = queue.claim_next(self.db.main, job_type)
                if job is None:
                    break
                self.active[job_type] += 1
                self._tasks[job.id] = asyncio.create_task(self._run(job))
                self.changes.notify()

    # -- one job --------------------------------------------------------------------------------

    def _worker_env(self, folder: Path) -> dict[str, str]:
        env = dict(os.environ)
        # The worker must run the same code as this server: from a checkout that is not the
        # installed one (a second worktree, say) the folder holding `api` goes first on its
        # path; installed, that folder is site-packages, where the worker looks anyway.
        code_root = str(Path(api.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [code_root, env.get("PYTHONPATH")]))
        env["TUNESMITH_HOME"] = str(folder / "home")
        threads = str(self.config.worker_threads)
        env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, TOKENIZERS_PARALLELISM="false")
        return env

    def _write_spec(self, job: Job, folder: Path) -> None:
        inputs = json.loads((folder / "inputs.json").read_text(encoding="utf-8"))
        spec = {
            "job_id": job.id,
            "type": job.type,
            "request": job.request,
            "attempt": job.attempts,
            "parent_pid": os.getpid(),
            "masks": self.masker.spec(),
            "names": {
                "model": dict(self.config.models),
                "template": {k: str(v) for k, v in self.config.templates.items()},
            },
            **inputs,
        }
        (folder / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        (folder / "home").mkdir(exist_ok=True)
        caches.seed(self.db.store(), folder / "home" / "tunesmith.duckdb", _alias(job.id))

    async def _run(self, job: Job) -> None:
        folder = self.job_dir(job.id)
        error: str | None = None
        try:
            await asyncio.to_thread(self._write_spec, job, folder)
            with open(folder / "worker.log", "ab") as logf:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "api.jobs.worker",
                    str(folder),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=logf,
                    start_new_session=True,
                    env=self._worker_env(folder),
                    limit=EVENT_LINE_LIMIT,
                )
            self._procs[job.id] = proc
            queue.set_worker(self.db.main, job.id, proc.pid)
            if queue.get_job(self.db.main, job.id).state == "cancelling":
                await self.cancel(job.id)
            assert proc.stdout is not None
            async for line in proc.stdout:
                error = self._on_line(job.id, line) or error
            rc = await proc.wait()
            if not self._stopping:
                await self._finalize(job, rc, error)
        except Exception as e:  # the server's side failed: the job fails with the reason
            log.exception("job %s failed in the supervisor", job.id)
            if not self._stopping:
                error = self.masker.text(f"{type(e).__name__}: {e}")
                queue.finish(self.db.main, job.id, "failed", error=error)
        finally:
            self._procs.pop(job.id, None)
            self._tasks.pop(job.id, None)
            self.active[job.type] -= 1
            self.wake()

    def _on_line(self, job_id: str, line: bytes) -> str | None:
        """Record one event from the worker; returns the error it reports, if any."""
        try:
            event: dict[str, Any] = json.loads(line)
            type_, data = str(event["type"]), dict(event["data"])
        except (ValueError, KeyError, TypeError):
            return None  # not ours; stray output belongs in the log, not in events
        if type_ == "done":
            return None
        queue.add_event(self.db.main, job_id, type_, data)
        self.changes.notify()
        return str(data.get("error")) if type_ == "error" else None

    async def _merge(self, job: Job) -> None:
        home = self.job_dir(job.id) / "home" / "tunesmith.duckdb"
        try:
            added = await asyncio.to_thread(
                lambda: caches.merge(self.db.store(), home, _alias(job.id))  # that thread's
            )
        except Exception as e:  # a broken job store must not block the job's outcome
            log.exception("merging the store of job %s failed", job.id)
            message = self.masker.text(f"cache merge failed: {e}")
            queue.add_event(self.db.main, job.id, "log", {"message": message})
            return
        if any(added.values()):
            queue.add_event(
                self.db.main, job.id, "log", {"message": "merged into the store", "rows": added}
            )

    async def _finalize(self, job: Job, rc: int, error: str | None) -> None:
        await self._merge(job)
        state = queue.get_job(self.db.main, job.id).state
        if state == "cancelling":
            queue.finish(self.db.main, job.id, "cancelled")
        elif rc == 0 and (self.job_dir(job.id) / "result.json").is_file():
            self._succeed(job)
        else:
            reason = error or (
                f"worker killed by signal {-rc}" if rc < 0 else f"worker exited with code {rc}"
            )
            queue.finish(self.db.main, job.id, "failed", error=self.masker.text(reason))
        self.changes.notify()

    def _succeed(self, job: Job) -> None:
        done = json.loads((self.job_dir(job.id) / "result.json").read_text(encoding="utf-8"))
        queue.finish(
            self.db.main, job.id, "succeeded", result=done["result"], verdict=done.get("verdict")
        )

    async def cancel(self, job_id: str) -> None:
        """Stop a running job's worker: SIGTERM to its group, SIGKILL after the grace period."""
        proc = self._procs.get(job_id)
        if proc is None or proc.returncode is not None:
            return
        _kill_group(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), self.config.cancel_grace_s)
        except TimeoutError:
            _kill_group(proc.pid, signal.SIGKILL)


def _alias(job_id: str) -> str:
    return "js_" + job_id.replace("-", "_")
