"""Batch inference on Ray Data: a generator backend in an actor pool, for large prompt sets.

``RayGenerator`` is a ``Generator`` (backend name ``ray``): each ``generate`` call turns the chats
into a Ray dataset and runs ``map_batches`` over it with a pool of ``concurrency`` actors, each
holding one inner backend (``vllm`` on a GPU cluster: one engine per GPU with ``num_gpus=1``, or
``tensor_parallel_size`` GPUs per engine; ``transformers`` on CPUs). Answers come back in the
order of the chats. The pool lives for one call and each actor loads the model once per call,
so give it large calls (synthesis: ``chunk`` in the thousands); the store's generation cache
still wraps it on the driver (``get_generator(..., store=...)``), so an interrupted run resumes.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from curate.models.generation import Generation, SamplingParams
from curate.records import Message


class RayGenerator:
    """Answers chats with an inner backend run by a Ray Data actor pool."""

    backend = "ray"

    def __init__(
        self,
        model: str,
        *,
        inner: str = "vllm",
        concurrency: int = 1,
        num_gpus: float = 0.0,
        num_cpus: float = 1.0,
        batch_size: int = 64,
        address: str | None = None,
        **options: Any,
    ) -> None:
        """Args:
        model: the model, as the inner backend names it (alias, folder, hub id).
        inner: the backend each actor runs: ``vllm`` or ``transformers``.
        concurrency: actors in the pool (one per GPU for data parallelism).
        num_gpus: GPUs per actor (1 for a vLLM engine per GPU; with ``tensor_parallel_size=k``
            give k).
        num_cpus: CPUs per actor.
        batch_size: chats per ``map_batches`` batch (one inner ``generate`` call).
        address: the Ray cluster to join; None reuses this process's Ray or starts a local one.
        **options: the inner backend's options (``tensor_parallel_size``, ``dtype``,
            ``max_model_len`` for vllm; ``threads``, ``batch_size`` for transformers).
        """
        self.model = model
        self.inner = inner
        self.concurrency = concurrency
        self.num_gpus = num_gpus
        self.num_cpus = num_cpus
        self.batch_size = batch_size
        self.address = address
        self.options = options

    def generate(
        self,
        chats: list[list[Message]],
        params: SamplingParams,
        adapter: str | None = None,
    ) -> list[Generation]:
        """Answer each chat on the actor pool; one Generation per chat, in order."""
        if not chats:
            return []
        from curate.executors.ray_data import import_ray

        ray = import_ray()
        if not ray.is_initialized():
            ray.init(address=self.address, log_to_driver=False, include_dashboard=False)
        ray.data.DataContext.get_current().enable_progress_bars = False
        rows = [
            {"pos": i, "chat": json.dumps([m.model_dump() for m in chat])}
            for i, chat in enumerate(chats)
        ]
        ds = ray.data.from_items(rows).map_batches(
            GenerateBatch,
            fn_constructor_kwargs={
                "backend": self.inner,
                "model": self.model,
                "options": self.options,
                "params": params.model_dump_json(),
                "adapter": adapter,
            },
            batch_size=self.batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=self.concurrency),
            num_gpus=self.num_gpus or None,
            num_cpus=self.num_cpus,
        )
        out = sorted(ds.take_all(), key=lambda r: int(r["pos"]))
        return [
            Generation(text=str(r["text"]), finish_reason=r["finish_reason"] or None) for r in out
        ]


class GenerateBatch:
    """The actor: builds the inner generator once, then answers one batch per call."""

    def __init__(
        self,
        backend: str,
        model: str,
        options: dict[str, Any],
        params: str,
        adapter: str | None,
    ) -> None:
        from curate.models.backends import get_generator

        self.generator = get_generator(backend, model, cache=False, **options)
        self.params = SamplingParams.model_validate_json(params)
        self.adapter = adapter

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        chats = [[Message.model_validate(m) for m in json.loads(str(c))] for c in batch["chat"]]
        answers = self.generator.generate(chats, self.params, self.adapter)
        return {
            "pos": batch["pos"],
            "text": np.array([a.text for a in answers], dtype=object),
            "finish_reason": np.array([a.finish_reason or "" for a in answers], dtype=object),
        }
