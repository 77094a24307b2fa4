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


def test_rejection_sampling_on_ray_writes_what_local_writes(
    ray_address: str, smollm2_path: str, shared_data, tmp_path, monkeypatch, capsys
) -> None:
    """``tunesmith synth negatives --backend ray --samples 2 --verifier numeric``: the k sampled
    requests per prompt go through the actor pool and the verified pairs are exactly those the
    local transformers backend writes (same seeds, one thread each), each generated afresh."""
    import json

    from api.cli import main

    source = shared_data / "gsm8k_example_model_solutions.jsonl"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    rows = [json.loads(x) for x in source.read_text().splitlines()[:6]]
    data = tmp_path / "gsm8k.jsonl"
    data.write_text(
        "".join(
            json.dumps(
                {"prompt": r["question"] + "\nAnswer briefly.", "completion": r["ground_truth"]}
            )
            + "\n"
            for r in rows
        )
    )
    configs = {
        "ray": "chunk = 6\noptions = { inner = 'transformers', concurrency = 1, batch_size = 6, "
        f"threads = 1, address = '{ray_address}' }}\n",
        "transformers": "chunk = 6\noptions = { batch_size = 6, threads = 1 }\n",
    }
    written, reports = {}, {}
    for backend, config in configs.items():
        monkeypatch.setenv("TUNESMITH_HOME", str(tmp_path / backend / "home"))  # no shared cache
        (tmp_path / f"{backend}.toml").write_text(config)
        out = tmp_path / backend / "out"
        with pytest.raises(SystemExit) as exited:
            main(
                [
                    "synth", "negatives", "--input", str(data), "--model", smollm2_path,
                    "--backend", backend, "--config", str(tmp_path / f"{backend}.toml"),
                    "--samples", "2", "--verifier", "numeric", "--max-tokens", "64",
                    "--out", str(out), "--json",
                ]
            )  # fmt: skip
        printed = capsys.readouterr().out
        assert exited.value.code == 0, printed
        reports[backend] = json.loads(printed[printed.index('{\n  "task"') :])
        written[backend] = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    assert (
        reports["ray"]["backend"] == "ray" and reports["transformers"]["backend"] == "transformers"
    )
    for report in reports.values():
        assert report["cache"]["hits"] == 0 and report["cache"]["misses"] == 12  # 6 prompts × 2
    assert reports["ray"]["sampling"] == reports["transformers"]["sampling"]
    pairs = {b: [(r["prompt"], r["chosen"], r["rejected"]) for r in w] for b, w in written.items()}
    assert pairs["ray"] == pairs["transformers"]
    assert pairs["ray"], "no verified pair on 6 questions: nothing was compared"
