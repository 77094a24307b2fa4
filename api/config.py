"""The server's settings: one frozen model, built from the ``serve`` command's options."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

JOB_TYPES = ("curate", "synthesize", "train", "eval", "gate", "sweep")
"""Every job type the server runs."""

DEFAULT_CONCURRENCY = {"curate": 2, "synthesize": 1, "train": 1, "eval": 1, "gate": 4, "sweep": 1}


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
    models: dict[str, str] = Field(default_factory=dict)
    """Models a tenant may name, beyond the built-in aliases: name → a folder on the server (or
    a hub id). Over the API a model field takes one of these names, never a path."""
    templates: dict[str, Path] = Field(default_factory=dict)
    """Chat templates a tenant may name (``train`` jobs' ``chat_template``): name → a Jinja file
    on the server."""
    idempotency_ttl_s: float = Field(default=24 * 3600.0, gt=0)
    """How long an ``Idempotency-Key`` is remembered; after that the same key is a new request."""
    ingest_memory_bytes: int = Field(default=4 << 30, ge=64 << 20)
    """Address-space limit (``RLIMIT_AS``) of the child process that reads an upload; a file
    that needs more is refused with 413 and the server itself never holds it."""
    url: str | None = None
    """Where this server answers on this machine (``serve`` sets it); written, with the admin
    secret, to ``<home>/server.json`` so ``tunesmith keys`` can work while the server runs."""

    def limit(self, job_type: str) -> int:
        """How many jobs of ``job_type`` may run at once."""
        return self.concurrency.get(job_type, DEFAULT_CONCURRENCY.get(job_type, 1))
