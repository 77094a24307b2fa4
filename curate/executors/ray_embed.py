"""Embeddings on Ray Data: the run's texts encoded by a pool of actors, each loading the model once.

``RayEncode`` takes the place of the run's ``Embedder.encode`` (``RayExecutor`` sets it), so
every step that embeds — semantic dedup, contradictions, diversity, format clustering — sends the
texts the store does not already hold to the pool; memory, store cache and everything after the
vectors (pairs, clusters, findings) stay the local code. A static model's vector of a text does
not depend on the batch it is encoded in, so the vectors, and so the findings, are the local
executor's to the bit.

Each call is a stage of the work folder named by a hash of its texts: a rerun after a failure
reads finished encodings back instead of encoding again.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import polars as pl

from curate.executors.config import ExecutorConfig
from curate.executors.ray_data import (
    dataset,
    import_ray,
    read_frame,
    write_dataset,
    write_frame,
)
from curate.executors.workdir import WorkDir

VECTOR_SCHEMA: dict[str, pl.DataType] = {"idx": pl.Int64(), "vec": pl.Binary()}
"""An encoding stage: each text's position and its float32 vector's bytes."""


class RayEncode:
    """Texts to vectors through a Ray Data actor pool (``embed_actors`` actors, each with
    ``embed_gpus`` GPUs)."""

    def __init__(
        self, work: WorkDir, config: ExecutorConfig, model: str, batch_size: int, max_tokens: int
    ) -> None:
        self.work, self.config = work, config
        self.model, self.batch_size, self.max_tokens = model, batch_size, max_tokens

    def __call__(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors of ``texts``, in order."""
        digest = hashlib.sha256(f"{self.model}#{self.max_tokens}".encode())
        for text in texts:
            digest.update(hashlib.sha256(text.encode("utf-8")).digest())
        stage = f"embed-{digest.hexdigest()[:16]}"
        self.work.stage(stage, lambda folder: self._encode(folder, texts))
        found = read_frame(self.work.path(stage)).sort("idx")
        if not len(found):
            return np.zeros((0, 0), dtype=np.float32)
        return np.frombuffer(b"".join(found["vec"].to_list()), dtype=np.float32).reshape(
            len(found), -1
        )

    def _encode(self, folder, texts: list[str]) -> dict[str, int]:  # type: ignore[no-untyped-def]
        frame = pl.DataFrame(
            {"idx": np.arange(len(texts), dtype=np.int64), "text": texts},
            schema={"idx": pl.Int64(), "text": pl.Utf8()},
        )
        write_frame(frame, folder / "texts", max(self.config.batch_size * 4, 10_000))
        ray = import_ray()
        ds = dataset(folder / "texts").map_batches(
            EncodeActor,
            fn_constructor_kwargs={
                "model": self.model,
                "batch_size": self.batch_size,
                "max_tokens": self.max_tokens,
            },
            compute=ray.data.ActorPoolStrategy(size=self.config.embed_actors),
            num_gpus=self.config.embed_gpus or None,
            batch_size=self.config.batch_size,
            batch_format="pyarrow",
        )
        write_dataset(ds, folder, VECTOR_SCHEMA)
        import shutil

        shutil.rmtree(folder / "texts")
        return {"texts": len(texts)}


class EncodeActor:
    """One actor of the pool: loads the encoder once, then encodes batches of ``(idx, text)``."""

    def __init__(self, model: str, batch_size: int, max_tokens: int) -> None:
        from curate.models.embed import load_encoder

        self.encoder = load_encoder(model)
        self.batch_size, self.max_tokens = batch_size, max_tokens

    def __call__(self, table: Any) -> Any:
        """A batch of texts to a batch of ``(idx, vec)``."""
        import pyarrow as pa

        texts = table.column("text").to_pylist()
        vectors = self.encoder.encode(texts, self.batch_size, self.max_tokens)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        return pa.table(
            {
                "idx": table.column("idx"),
                "vec": pa.array([row.tobytes() for row in vectors], pa.binary()),
            }
        )
