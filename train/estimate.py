"""Rough steps and peak-memory estimates for a run, from the model's files and the config.

Memory follows the usual accounting: weights + trainable-parameter state (grads and two Adam
moments, fp32) + activations (Korthikanti et al. 2022, "Reducing Activation Recomputation",
34·s·b·h + 5·a·s²·b bytes per layer at 16-bit; about 2·s·b·h with checkpointing) + the logits
(fp32, kept three times: logits, log-softmax, grad) + the runtime. It is an order-of-magnitude
guide: the training card records the measured peak beside it.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

RUNTIME_BYTES = {"cpu": 0.45e9, "cuda": 0.6e9}
"""Fixed cost of the process: torch and libraries (CPU) or the CUDA context (GPU)."""

WEIGHT_BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "nf4": 0.55}
"""Bytes per parameter; NF4 includes its quantisation constants (QLoRA paper, ~0.5 + 0.05)."""


def count_parameters(model_dir: Path) -> int | None:
    """Parameters in a model folder, read from the safetensors headers (no weights loaded)."""
    files = sorted(model_dir.glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for path in files:
        with open(path, "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size))
        for name, info in header.items():
            if name != "__metadata__":
                total += math.prod(info["shape"])
    return total


def model_shape(model_dir: Path) -> dict[str, Any]:
    """The model's ``config.json`` (text part for multimodal configs), or ``{}``."""
    path = model_dir / "config.json"
    if not path.is_file():
        return {}
    config = json.loads(path.read_text())
    return config.get("text_config", config)


def lora_parameters(shape: dict[str, Any], rank: int, targets: list[str] | str) -> int:
    """Trainable parameters of a LoRA adapter: ``r·(in + out)`` per wrapped linear layer."""
    h = shape.get("hidden_size", 0)
    inter = shape.get("intermediate_size", 4 * h)
    heads = shape.get("num_attention_heads", 1)
    head_dim = shape.get("head_dim") or (h // max(heads, 1))
    kv = shape.get("num_key_value_heads", heads) * head_dim
    q = heads * head_dim
    dims = {
        "q_proj": (h, q),
        "k_proj": (h, kv),
        "v_proj": (h, kv),
        "o_proj": (q, h),
        "gate_proj": (h, inter),
        "up_proj": (h, inter),
        "down_proj": (inter, h),
    }
    wanted = dims if targets == "all-linear" else {k: v for k, v in dims.items() if k in targets}
    per_layer = sum(rank * (i + o) for i, o in wanted.values())
    return per_layer * shape.get("num_hidden_layers", 0)


def estimate_memory_bytes(
    model_dir: Path,
    *,
    adapter: str,
    rank: int,
    target_modules: list[str] | str,
    precision: str,
    batch_size: int,
    seq_len: int,
    device: str,
    checkpointing: bool,
    pairs: bool = False,
) -> int | None:
    """Estimated peak memory of one training step, or ``None`` when the model folder is unknown.

    Args:
        pairs: DPO: each example is a chosen and a rejected sequence (twice the activations).
    """
    shape = model_shape(model_dir)
    n_params = count_parameters(model_dir)
    if not shape or n_params is None:
        return None
    h, layers = shape.get("hidden_size", 0), shape.get("num_hidden_layers", 0)
    heads, vocab = shape.get("num_attention_heads", 1), shape.get("vocab_size", 0)
    weights = n_params * WEIGHT_BYTES["nf4" if adapter == "qlora" else precision]
    trainable = n_params if adapter == "full" else lora_parameters(shape, rank, target_modules)
    state = trainable * 12  # fp32 grad + two Adam moments
    b = batch_size * (2 if pairs else 1)
    act_scale = WEIGHT_BYTES["fp32" if precision == "fp32" else "bf16"] / 2
    per_layer = (
        2 * seq_len * b * h if checkpointing else 34 * seq_len * b * h + 5 * heads * seq_len**2 * b
    )
    activations = per_layer * layers * act_scale
    logits = b * seq_len * vocab * 4 * 3
    return int(weights + state + activations + logits + RUNTIME_BYTES[device])


def estimate_steps(
    n_train: int, batch_size: int, grad_accum: int, epochs: float, max_steps: int | None
) -> int:
    """Optimizer steps the run will take (as ``transformers.Trainer`` counts them)."""
    if max_steps:
        return max_steps
    batches = math.ceil(n_train / batch_size)
    per_epoch = max(batches // grad_accum + (1 if batches % grad_accum else 0), 1)
    return math.ceil(per_epoch * epochs)
