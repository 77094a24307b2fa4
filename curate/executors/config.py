"""``ExecutorConfig``: where the curation steps run — in this process, or on Ray.

The executor never changes a result, only where the work happens, so it is left out of the
config's JSON (``exclude=True`` in ``CurateConfig``): the run id, ``report.json`` and every output
file are the same whichever executor ran them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ExecutorConfig(BaseModel):
    """Where the steps run: ``local`` (this process) or ``ray`` (Ray Data on a cluster or a local
    Ray instance)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["local", "ray"] = "local"
    """``local``: Polars and NumPy in this process. ``ray``: per-record work through Ray Data
    ``map_batches``, LSH buckets and connected components through partitioned shuffles, every
    stage written to ``work_dir`` so a rerun resumes."""
    address: str | None = None
    """The Ray cluster to join (``ray://host:10001`` or ``auto``); None starts a local instance
    (or reuses the one this process already started)."""
    num_cpus: int | None = Field(None, ge=1)
    """CPUs of a local Ray instance (None: all of this machine's)."""
    object_store_memory: int | None = Field(None, ge=75_000_000)
    """Bytes of a local instance's object store (None: Ray's default, 30% of memory)."""
    work_dir: str | None = None
    """Where stage outputs and markers go; default ``<store root>/work``. Each run uses its own
    subfolder named by the run id. On a multi-node cluster this must be storage every node sees
    (a shared filesystem)."""
    batch_size: int = Field(4_096, ge=1)
    """Records per ``map_batches`` batch (signatures, keys, embeddings)."""
    partitions: int = Field(8, ge=1)
    """Partitions of the shuffles (LSH buckets, edges): each holds about 1/partitions of them,
    which bounds a task's memory; raise it with the data."""
    embed_actors: int = Field(1, ge=1)
    """Embedding actors (each loads the model once; one per GPU on a GPU cluster)."""
    embed_gpus: float = Field(0.0, ge=0.0)
    """GPUs per embedding actor (0 on CPU machines)."""
