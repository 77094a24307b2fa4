"""What a worker process gives the step it runs: inputs, an output folder, a progress sink."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict


class JobRequestBase(BaseModel):
    """Base of every job request: names the datasets and earlier jobs the job reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def datasets(self) -> dict[str, str]:
        """Dataset ids this job reads, by role (resolved to files for the owner)."""
        return {}

    def jobs(self) -> dict[str, str]:
        """Ids of earlier jobs whose artifacts this job reads, by role."""
        return {}


@dataclass
class Outcome:
    """What a finished step hands back to the server."""

    result: dict[str, Any]
    """The step's result model as JSON."""
    verdict: str | None = None
    """Gate jobs: ``pass`` or ``fail`` (kept apart from the job's own success)."""


@dataclass
class JobContext:
    """A job as its worker sees it."""

    job_id: str
    attempt: int
    """1 for the first run; more when resuming after an interruption."""
    dir: Path
    """The job's folder."""
    artifacts: Path
    """Where the step writes its outputs (every file here is downloadable)."""
    datasets: dict[str, Path]
    """Input dataset files by role."""
    jobs: dict[str, Path]
    """Artifact folders of earlier jobs by role."""
    sink: IO[str] | None = None
    """Where events go (a pipe to the server); None drops them."""
    mask: Callable[[Any], Any] = lambda value: value
    """Replaces server folders in what a tenant will read (``api.masking.Masker.obj``)."""
    stop: threading.Event = field(default_factory=threading.Event)
    """Set when the job is cancelled; steps that can stop cleanly watch it."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def emit(self, type_: str, data: dict[str, Any]) -> None:
        """Send one event to the server (a JSON line on the pipe)."""
        if self.sink is None:
            return
        line = json.dumps({"type": type_, "data": self.mask(data)}, default=str)
        with self._lock:  # library code may report from several threads
            self.sink.write(line + "\n")
            self.sink.flush()

    def progress(self, *args: Any, **kwargs: Any) -> None:
        """A ``progress=`` callback for any library function: accepts a model, a dict, or
        positional values, and forwards them as a ``progress`` event."""
        if len(args) == 1 and not kwargs and isinstance(args[0], BaseModel):
            data = args[0].model_dump(mode="json")
        elif len(args) == 1 and not kwargs and isinstance(args[0], dict):
            data = dict(args[0])
        else:
            data = {**({"values": list(args)} if args else {}), **kwargs}
        self.emit("progress", data)

    def log(self, message: str) -> None:
        """Send a log line."""
        self.emit("log", {"message": message})


Runner = Callable[[Any, JobContext], Outcome]
