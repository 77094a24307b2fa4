"""Family presets: defaults per model family, read from ``data/presets.toml`` (not code)."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from curate import ConfigError

PRESETS_FILE = Path(str(files("tunesmith_data") / "presets.toml"))  # installed as a folder


class Preset(BaseModel):
    """One family's defaults and what to know about its chat template."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    """The preset's name (``smollm``, ``qwen``, ...)."""
    target_modules: list[str]
    """LoRA target module names in the family's transformers implementation."""
    lr_lora: float
    """SFT learning rate for LoRA/QLoRA."""
    lr_full: float
    """SFT learning rate for full fine-tuning."""
    dpo_lr_lora: float
    """DPO (and KTO) learning rate for LoRA/QLoRA."""
    dpo_lr_full: float
    """DPO (and KTO) learning rate for full fine-tuning."""
    end_of_turn: str
    """The token that closes an assistant turn."""
    notes: str
    """Chat-template quirks."""
    sources: str
    """Where each default comes from."""

    def learning_rate(self, method: str, adapter: str) -> float:
        """The preset's learning rate for a method and adapter kind (KTO, a preference method,
        takes DPO's)."""
        full = adapter == "full"
        if method in ("dpo", "kto"):
            return self.dpo_lr_full if full else self.dpo_lr_lora
        return self.lr_full if full else self.lr_lora


@cache
def load_presets(path: Path = PRESETS_FILE) -> dict[str, Preset]:
    """All presets in the presets file, by name."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {name: Preset(name=name, **values) for name, values in data.items()}


def get_preset(name: str) -> Preset:
    """One preset by name (case-insensitive).

    Raises:
        ConfigError: no preset has that name.
    """
    presets = load_presets()
    preset = presets.get(name.lower())
    if preset is None:
        raise ConfigError(f"unknown preset {name!r}; presets: {', '.join(sorted(presets))}")
    return preset
