"""The one config of a training run, from TOML, JSON or an API body."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from curate import ConfigError, InputError
from train.presets import get_preset

Method = Literal["sft", "dpo", "kto"]
Adapter = Literal["lora", "qlora", "full"]
Precision = Literal["auto", "fp32", "bf16", "fp16"]

# Used when neither the user nor a preset sets a learning rate. LoRA's optimum sits about an order
# of magnitude above full fine-tuning's (QLoRA paper, 2e-4; TRL "LoRA Without Regret" docs);
# DPO wants a smaller step than SFT (TRL DPOConfig default 1e-6 for full, ×10 for LoRA); so does
# KTO (TRL KTOConfig default 1e-6 for full, ×10 for LoRA).
FALLBACK_LR: dict[tuple[str, str], float] = {
    ("sft", "lora"): 2e-4,
    ("sft", "qlora"): 2e-4,
    ("sft", "full"): 2e-5,
    ("dpo", "lora"): 5e-6 * 10,
    ("dpo", "qlora"): 5e-6 * 10,
    ("dpo", "full"): 5e-6,
    ("kto", "lora"): 1e-6 * 10,
    ("kto", "qlora"): 1e-6 * 10,
    ("kto", "full"): 1e-6,
}


class TrainConfig(BaseModel):
    """Everything a training run needs besides the data. Maps onto TRL/PEFT objects in ``run``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_model: str
    """The model to tune: a built-in alias (``smollm2-135m``), a local folder, or a hub id."""
    dataset: str | None = None
    """A dataset file to train on when ``run`` is given none (any file ``curate.read_dataset``
    reads, including curated TRL Parquet/JSONL)."""
    method: Method = "sft"
    """``sft`` (prompt + completion records; every assistant turn of a multi-turn conversation is
    trained), ``dpo`` (prompt + chosen + rejected records) or ``kto`` (prompt + completion + label
    records; TRL's KTOTrainer, desirable and undesirable losses weighted so both labels count
    alike whatever their numbers)."""
    adapter: Adapter = "lora"
    """``lora`` (a LoRA adapter), ``qlora`` (LoRA over a 4-bit base; needs CUDA) or ``full``."""
    init_adapter: str | None = None
    """A LoRA adapter folder (PEFT's ``save_pretrained`` output, e.g. an SFT run's) that this run
    loads and keeps training instead of starting a new adapter: its own rank, alpha, dropout and
    target modules apply, this config's are ignored. Under DPO the frozen reference is a copy of
    it (TRL's DPOTrainer does this for a model that already carries an adapter), so the pass
    refines the SFT policy rather than pulling back towards the base. LoRA only."""
    preset: str | None = None
    """A family preset (``data/presets.toml``: granite, gemma, qwen, mistral, llama, smollm) whose
    values fill the fields this config does not set."""
    rank: int = Field(16, ge=1)
    """LoRA rank ``r``: the adapter's capacity."""
    alpha: int | None = Field(None, ge=1)
    """LoRA scaling ``lora_alpha``; ``None`` means twice the rank."""
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    """Dropout on the LoRA branch."""
    target_modules: list[str] | Literal["all-linear"] = "all-linear"
    """Module names the adapter wraps; ``all-linear`` wraps every linear layer but the output head."""
    learning_rate: float | None = Field(None, gt=0)
    """Peak learning rate; ``None`` takes the preset's value for the adapter kind, else a fallback
    (2e-4 LoRA SFT, 2e-5 full SFT, 5e-5 LoRA DPO, 5e-6 full DPO, 1e-5 LoRA KTO, 1e-6 full KTO)."""
    epochs: float = Field(1.0, gt=0)
    """Passes over the training split (ignored when ``max_steps`` is set)."""
    max_steps: int | None = Field(None, ge=1)
    """Optimizer steps to run; overrides ``epochs``."""
    batch_size: int = Field(4, ge=1)
    """Examples per device per forward pass."""
    grad_accum: int = Field(1, ge=1)
    """Forward passes accumulated into one optimizer step (effective batch = batch_size × this)."""
    max_length: int = Field(1024, ge=8)
    """Token limit per sequence; longer ones are truncated (and counted by the pre-flight)."""
    warmup: float = Field(0.03, ge=0)
    """Linear warmup: a fraction of the steps if below 1, else a number of steps."""
    lr_scheduler: str = "linear"
    """Learning-rate schedule after warmup (a ``transformers`` scheduler name)."""
    max_grad_norm: float = Field(1.0, gt=0)
    """Gradient clipping norm."""
    seed: int = 42
    """Seed for the split, adapter init, shuffling and dropout."""
    eval_fraction: float = Field(0.1, ge=0.0, lt=0.5)
    """Share of the records held out for an eval loss (0 disables it)."""
    eval_every: float = Field(0.25, gt=0)
    """Held-out loss cadence: a fraction of the steps if below 1, else a number of steps."""
    dpo_beta: float = Field(0.1, gt=0)
    """DPO's (and KTO's) KL strength ``beta``: higher keeps the policy nearer the reference."""
    output_dir: str = "tunesmith-train"
    """Where the adapter (or model), tokenizer, metrics, card and checkpoints are written."""
    save_every: int = Field(50, ge=1)
    """Checkpoint every this many steps (a checkpoint is also written when a run is stopped)."""
    keep_checkpoints: int = Field(2, ge=1)
    """Checkpoints kept on disk (older ones are deleted)."""
    resume: bool = True
    """Continue from the last checkpoint in ``output_dir`` when one of the same run exists."""
    log_every: int = Field(1, ge=1)
    """Metrics (loss, lr, grad norm, tokens/s, memory) are logged every this many steps."""
    precision: Precision = "auto"
    """Weights and compute dtype: ``auto`` is bf16 on a CUDA GPU that has it, fp32 otherwise."""
    gradient_checkpointing: bool | None = None
    """Recompute activations to save memory; ``None``: on with CUDA, off on the CPU (slower there
    for no gain at small sizes)."""
    chat_template: str | None = None
    """A Jinja file that replaces the tokenizer's chat template, or the name of a shipped one
    (``smollm2-tools``: SmolLM2's template plus tool definitions and ``<tool_call>`` blocks)."""
    end_of_turn: str | None = None
    """The token that ends an assistant turn (checked in the loss mask); ``None``: the preset's,
    else the tokenizer's EOS token."""
    diverge_factor: float = Field(4.0, gt=1.0)
    """The watchdog stops a run whose loss exceeds this multiple of its lowest loss so far."""

    @model_validator(mode="after")
    def _continues_lora_only(self) -> TrainConfig:
        if self.init_adapter is not None and self.adapter != "lora":
            raise ValueError(f"init_adapter continues a LoRA adapter; adapter is {self.adapter!r}")
        return self

    @property
    def lora_alpha(self) -> int:
        """``alpha`` with its default (twice the rank) applied."""
        return self.alpha if self.alpha is not None else 2 * self.rank

    @property
    def effective_lr(self) -> float:
        """The learning rate after presets, or the fallback for this method and adapter."""
        if self.learning_rate is not None:
            return self.learning_rate
        return FALLBACK_LR[(self.method, self.adapter)]

    def resolved(self) -> TrainConfig:
        """This config with its preset's values in the fields it leaves unset.

        Fields the user set (``model_fields_set``) are never changed.
        """
        if not self.preset:
            return self
        preset = get_preset(self.preset)
        fill = {
            "target_modules": preset.target_modules,
            "learning_rate": preset.learning_rate(self.method, self.adapter),
            "end_of_turn": preset.end_of_turn,
        }
        data = self.model_dump(exclude_unset=True)
        for key, value in fill.items():
            data.setdefault(key, value)
        data["preset"] = preset.name
        return TrainConfig.model_validate(data)

    def with_overrides(self, **changes: Any) -> TrainConfig:
        """A validated copy with some fields changed (``None`` values are ignored)."""
        data = self.model_dump(exclude_unset=True)
        data.update({k: v for k, v in changes.items() if v is not None})
        return build_config(data)


def build_config(data: dict[str, Any], where: str = "config") -> TrainConfig:
    """Validate a mapping into a ``TrainConfig``, raising ``ConfigError`` that names each field.

    A ``preset`` is checked to exist here and applied by ``TrainConfig.resolved``, so a later
    override of the preset (``with_overrides(preset=...)``) still fills the unset fields.
    """
    try:
        config = TrainConfig.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in e.errors()
        )
        raise ConfigError(f"{where}: {problems}") from e
    if config.preset:
        get_preset(config.preset)  # an unknown name fails now, with the list of presets
    return config


def load_config(path: str | Path) -> TrainConfig:
    """Read a ``TrainConfig`` from a TOML or JSON file (a ``[train]`` table in TOML is accepted).

    Raises:
        InputError: the file is missing or unreadable.
        ConfigError: the content does not validate.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such config file")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: {e}") from e
    if isinstance(data.get("train"), dict):
        data = data["train"]
    return build_config(data, where=str(path))
