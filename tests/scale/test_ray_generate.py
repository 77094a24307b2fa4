"""Batch inference on Ray Data: the ``ray`` backend runs an inner backend in an actor pool and
answers exactly as the inner backend does alone (greedy), in the order of the chats."""

from __future__ import annotations

import pytest

from curate.models.backends import get_generator
from curate.models.generation import SamplingParams
from curate.records import Message

pytestmark = pytest.mark.slow

CHATS = [
    [Message(role="user", content="What is the capital of France?")],
    [Message(role="user", content="Name a colour of the sky.")],
    [Message(role="user", content="Say hello in Spanish.")],
]
GREEDY = SamplingParams(max_tokens=8)


def test_transformers_actor_pool_matches_direct_generation(
    ray_address: str, smollm2_path: str
) -> None:
    direct = get_generator("transformers", smollm2_path, threads=1, batch_size=1)
    expected = [g.text for g in direct.generate(CHATS, GREEDY)]

    # Two batches (batch_size=2), so answers from several calls are put back in order.
    on_ray = get_generator(
        "ray",
        smollm2_path,
        inner="transformers",
        concurrency=1,
        batch_size=2,
        threads=1,
    )
    got = on_ray.generate(CHATS, GREEDY)
    assert [g.text for g in got] == expected
    assert all(g.text.strip() for g in got)
    assert {g.finish_reason for g in got} <= {"stop", "length"}


def test_vllm_engine_per_actor(ray_address: str, smollm2_path: str) -> None:
    pytest.importorskip(
        "vllm", reason="vLLM is not importable in this environment (it is the gpu extra)"
    )
    import torch

    gpus = 1 if torch.cuda.is_available() else 0
    options = {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True}
    direct = get_generator("vllm", smollm2_path, **options)
    expected = [g.text for g in direct.generate(CHATS, GREEDY)]
    on_ray = get_generator("ray", smollm2_path, inner="vllm", num_gpus=gpus, **options)
    assert [g.text for g in on_ray.generate(CHATS, GREEDY)] == expected
