"""The server's settings: one frozen model, built from the ``serve`` command's options."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

JOB_TYPES = ("curate", "synthesize", "train", "eval", "gate")
"""Every job type the server runs."""

DEFAULT_CONCURRENCY = {"curate": 2, "synthesize": 1, "train": 1, "eval": 1, "gate": 4}


class ServerConfig(BaseModel):
    """How the REST service runs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path | None = None
    """The store's folder (``TUNESMITH_HOME``); None reads the environment at start-up."""
    max_upload_bytes: int = Field(default=1 << 30, ge=1)
    """Largest dataset upload accepted by ``POST /v1/datasets``; larger ones get 413."""
    max_body_bytes: int = Field(default=8 << 20, ge=1)
    """Largest request body on every other route (JSON records included)."""
    concurrency: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_CONCURRENCY))
    """Jobs of each type that may run at once (training and generation are heavy); 0 parks
    that type's jobs in the queue."""
    heartbeat_s: float = Field(default=15.0, gt=0)
    """Seconds between SSE heartbeat comments when no event arrives."""
    poll_s: float = Field(default=0.5, gt=0)
    """How often the supervisor and the SSE streams look for new work when nothing woke them."""
    cancel_grace_s: float = Field(default=5.0, ge=0)
    """Seconds a cancelled worker gets after SIGTERM before SIGKILL."""
    worker_threads: int = Field(default=1, ge=1)
    """Torch/OMP threads per worker process (two cores: keep the server responsive)."""

    def limit(self, job_type: str) -> int:
        """How many jobs of ``job_type`` may run at once."""
        return self.concurrency.get(job_type, DEFAULT_CONCURRENCY.get(job_type, 1))
