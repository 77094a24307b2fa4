"""Runs the vllm backend inside the vLLM venv (``.venv-vllm``) and prints its answers as JSON.

The main test suite starts this script with ``.venv-vllm/bin/python`` because vLLM (the community
CPU build here) pins its own torch and transformers. vLLM spawns its engine in a subprocess, hence
the ``__main__`` guard. Usage: ``vllm_worker.py REQUEST.json`` where the request holds ``model``,
``prompts``, ``max_tokens`` and optionally ``adapter``; prints ``{"base": [...], "adapter": [...],
"seconds": {...}}``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    from curate.models.backends import get_generator
    from curate.models.generation import SamplingParams
    from curate.records import Message

    request = json.loads(Path(sys.argv[1]).read_text())
    adapter = request.get("adapter")
    start = time.perf_counter()
    gen = get_generator(
        "vllm",
        request["model"],
        dtype="float32",
        max_model_len=1024,
        enforce_eager=True,
        # On the CPU build this is the share of RAM vLLM reserves; CI machines are small.
        gpu_memory_utilization=request.get("memory", 0.15),
        enable_lora=adapter is not None,
    )
    chats = [[Message(role="user", content=p)] for p in request["prompts"]]
    params = SamplingParams(max_tokens=request["max_tokens"])
    gen.generate(chats[:1], params)  # starts the engine
    loaded = time.perf_counter()
    base = gen.generate(chats, params)
    done = time.perf_counter()
    result = {
        "base": [g.model_dump() for g in base],
        "seconds": {"load": loaded - start, "generate": done - loaded},
    }
    if adapter:
        result["adapter"] = [g.model_dump() for g in gen.generate(chats, params, adapter=adapter)]
    print("RESULT " + json.dumps(result))
