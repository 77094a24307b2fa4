"""Fixtures for synthesis tests: one loaded SmolLM2 generator per session, a real LoRA adapter."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def lora_adapter(smollm2_path: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real PEFT LoRA adapter for SmolLM2 with non-zero weights, so it changes the answers.

    Built without training (random LoRA init) from a separate copy of the model, so the shared
    loaded model stays untouched.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(smollm2_path, dtype=torch.float32)
    config = LoraConfig(
        r=8, lora_alpha=64, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    folder = tmp_path_factory.mktemp("adapter") / "lora"
    get_peft_model(base, config).save_pretrained(folder)
    del base
    return str(folder)


@pytest.fixture(scope="session")
def smol(smollm2_path: str):
    """The transformers backend on SmolLM2 (no cache): loads the model once per session."""
    from curate.models.backends import get_generator

    return get_generator("transformers", smollm2_path, cache=False, threads=1)
