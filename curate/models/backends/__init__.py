"""Generator backends, picked by name: ``transformers``, ``openai``, ``vllm`` and ``ray`` (an
inner backend in a Ray Data actor pool, for large prompt sets).

Each backend module is imported only when it is asked for, and each imports its heavy library
(torch, transformers, vllm) only when it first generates.
"""

from __future__ import annotations

import importlib
from typing import Any

from curate.errors import InputError
from curate.models.cache import CachedGenerator, generation_key
from curate.models.generation import Generator
from curate.store.store import Store

BACKENDS: dict[str, str] = {
    "transformers": "curate.models.backends.transformers:TransformersGenerator",
    "openai": "curate.models.backends.openai:OpenAIGenerator",
    "vllm": "curate.models.backends.vllm:VLLMGenerator",
    "ray": "curate.executors.ray_generate:RayGenerator",
}
"""Backend name → ``module:class``; the class takes ``(model, **options)``."""


def get_generator(
    backend: str,
    model: str,
    *,
    base_url: str | None = None,
    store: Store | None = None,
    cache: bool = True,
    **options: Any,
) -> Generator:
    """A generator by backend name, cached in the store's ``generations`` table.

    Args:
        backend: ``transformers``, ``openai`` or ``vllm``.
        model: the model's name: an alias (``smollm2-135m``), a folder, a hub id, or for
            ``openai`` the name the server serves.
        base_url: the server's URL (``openai`` only), e.g. ``http://127.0.0.1:8000/v1``.
        store: the store whose cache answers repeated requests; None means no cache.
        cache: False to always generate (the store is then not used).
        **options: backend options (``batch_size``, ``device``, ``threads`` for transformers;
            ``api_key_env``, ``max_concurrency``, ``timeout_s``, ``max_retries`` for openai;
            ``tensor_parallel_size``, ``dtype``, ``max_model_len`` for vllm; ``inner``,
            ``concurrency``, ``num_gpus`` and the inner backend's options for ray).

    Raises:
        InputError: an unknown backend name, or ``base_url`` given to a local backend.
    """
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if base_url is not None:
        if backend != "openai":
            raise InputError(f"base_url applies to the openai backend only, not {backend!r}")
        options["base_url"] = base_url
    module, name = BACKENDS[backend].split(":")
    generator: Generator = getattr(importlib.import_module(module), name)(model, **options)
    if cache and store is not None:
        return CachedGenerator(generator, store)
    return generator


__all__ = ["BACKENDS", "CachedGenerator", "generation_key", "get_generator"]
