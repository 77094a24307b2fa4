"""``train.run``: map a TrainConfig to TRL's SFT/DPO/KTO trainer and PEFT's LoRA, and run it.

No trainer is subclassed: observation and control (metrics, watchdog, stopping) go through
TrainerCallback objects (``train.callbacks``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, Field

from curate import ConflictError, InputError
from train.callbacks import Progress, RunState, StopSignal, make_callbacks
from train.card import TrainingCard, now_iso
from train.config import TrainConfig
from train.data import prepare, split, to_hf
from train.preflight import PreflightReport, load_tokenizer, preflight, resolve_precision

# Fields that say how long or where a run goes, not what it learns: a checkpoint of the same run
# may be resumed when only these differ.
NOT_FINGERPRINTED = {
    "dataset",
    "output_dir",
    "resume",
    "save_every",
    "keep_checkpoints",
    "log_every",
    "max_steps",
    "epochs",
    "init_adapter",  # its weights' hash is fingerprinted instead: a moved copy is the same run
}
DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


class TrainResult(BaseModel):
    """What a run produced and how it went."""

    status: str
    """``completed``, ``stopped`` (by the caller) or ``diverged`` (by the watchdog)."""
    stop_reason: str | None = None
    """Why the run ended early, if it did."""
    output_dir: str
    """The run folder: adapter/model, tokenizer, metrics.jsonl, training card, checkpoints/."""
    adapter_dir: str | None
    """Where the adapter (or full model) was saved; ``None`` when the run diverged."""
    steps: int
    """Optimizer steps done in total."""
    resumed_from_step: int | None = None
    """The checkpoint step this run resumed from, if any."""
    seconds: float
    """Wall time of the training loop in this session."""
    seconds_per_step: float | None = None
    """Seconds per optimizer step (forward, backward, optimizer; no eval or checkpointing)."""
    metrics: dict[str, float] = Field(default_factory=dict)
    """Headline figures (first/last loss, eval loss, tokens/s, peak memory)."""
    metrics_path: str
    """The per-log metrics file (JSON lines)."""
    card_path: str
    """The training card (JSON; the Markdown sits beside it)."""
    preflight: PreflightReport
    """What the pre-flight found."""


def fingerprint(config: TrainConfig, data_sha256: str) -> str:
    """Identity of a run's learning setup: config (less where/how long) and data."""
    payload = config.model_dump(exclude=NOT_FINGERPRINTED)
    text = json.dumps([payload, data_sha256], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _checkpoint_to_resume(config: TrainConfig, checkpoints: Path, print_: str) -> str | None:
    """The checkpoint to resume from, clearing stale state when the config says start over."""
    from transformers.trainer_utils import get_last_checkpoint

    marker = checkpoints / "run.json"
    last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    if last is None:
        return None
    if not config.resume:
        shutil.rmtree(checkpoints)
        return None
    previous = json.loads(marker.read_text()).get("fingerprint") if marker.is_file() else None
    if previous != print_:
        raise ConflictError(
            f"{checkpoints} holds checkpoints of a different run (other config or data); "
            "use another output_dir, or resume=false to start over there"
        )
    return last


def _step_of(checkpoint: str | None) -> int:
    return int(Path(checkpoint).name.split("-")[-1]) if checkpoint else 0


def _trim_metrics(path: Path, last_step: int) -> None:
    """Keep the metrics rows up to the checkpoint resumed from (all of them go on a fresh run):
    steps logged after the last checkpoint of a crashed run are trained again."""
    if not path.is_file():
        return
    rows = path.read_text(encoding="utf-8").splitlines()
    kept = [r for r in rows if last_step and json.loads(r).get("step", 0) <= last_step]
    path.write_text("".join(r + "\n" for r in kept), encoding="utf-8")


def _peft_config(config: TrainConfig):
    if config.adapter == "full":
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=config.rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.dropout,
        target_modules=config.target_modules,
        task_type="CAUSAL_LM",
    )


def _initial_model(config: TrainConfig, model_dir: str, precision: str) -> Any:
    """What the trainer starts from: the base's folder (TRL loads it and attaches a new adapter),
    or, with ``init_adapter``, the base with that adapter loaded trainable (PEFT)."""
    if config.init_adapter is None:
        return model_dir
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, DTYPES[precision]))
    return PeftModel.from_pretrained(base, config.init_adapter, is_trainable=True)


def _adapter_sha256(config: TrainConfig) -> str:
    """The content hash of ``init_adapter``'s weights ("" without one): a run that continues an
    adapter is the same run only when it continues the same weights."""
    if config.init_adapter is None:
        return ""
    digest = hashlib.sha256()
    for file in sorted(Path(config.init_adapter).glob("adapter_model.*")):
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _quantization_config(config: TrainConfig, precision: str):
    if config.adapter != "qlora":
        return None
    import torch
    from transformers import BitsAndBytesConfig

    # NF4 with double quantisation and a 16-bit compute dtype: the QLoRA paper's recipe.
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16 if precision == "bf16" else torch.float16,
    )


def trainer_args(config: TrainConfig, checkpoints: Path, device: str, has_eval: bool) -> dict:
    """The TrainingArguments shared by SFTConfig, DPOConfig and KTOConfig."""
    precision = resolve_precision(config.precision, device)
    checkpointing = config.gradient_checkpointing
    if checkpointing is None:
        checkpointing = device == "cuda"  # on the CPU it only slows a small model down
    return {
        "output_dir": str(checkpoints),
        "learning_rate": config.effective_lr,
        "num_train_epochs": config.epochs,
        "max_steps": config.max_steps or -1,
        "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.grad_accum,
        "warmup_steps": config.warmup if config.warmup < 1 else int(config.warmup),
        "lr_scheduler_type": config.lr_scheduler,
        "max_grad_norm": config.max_grad_norm,
        "seed": config.seed,
        "max_length": config.max_length,
        "logging_steps": config.log_every,
        "save_steps": config.save_every,
        "save_total_limit": config.keep_checkpoints,
        "eval_strategy": "steps" if has_eval else "no",
        "eval_steps": config.eval_every if has_eval else None,
        # TRL defaults bf16 on; set both flags explicitly so the CPU trains in fp32.
        "bf16": precision == "bf16",
        "fp16": precision == "fp16",
        "gradient_checkpointing": checkpointing,
        "use_cpu": device == "cpu",
        "model_init_kwargs": {"dtype": DTYPES[precision]},
        "report_to": "none",
        "disable_tqdm": True,
    }


def build_trainer(
    config: TrainConfig,
    model: Any,
    tokenizer,
    train_ds,
    eval_ds,
    args: dict[str, Any],
    callbacks: list,
) -> Any:
    """The TRL trainer for the config's method, with PEFT (and 4-bit) configs attached.

    ``model`` is the base's folder, or a ``PeftModel`` that already carries the adapter to
    continue (``init_adapter``): TRL then trains that adapter and attaches no new one.
    """
    precision = resolve_precision(config.precision, "cuda" if not args["use_cpu"] else "cpu")
    loaded = not isinstance(model, str)
    if loaded:
        args = {**args, "model_init_kwargs": None}  # TRL ignores them for a loaded model
    common = {
        "model": model,
        "train_dataset": train_ds,
        "eval_dataset": eval_ds,
        "processing_class": tokenizer,
        "callbacks": callbacks,
        "peft_config": None if loaded else _peft_config(config),
        "quantization_config": None if loaded else _quantization_config(config, precision),
    }
    if config.method == "dpo":
        from trl import DPOConfig, DPOTrainer

        return DPOTrainer(args=DPOConfig(**args, beta=config.dpo_beta), **common)
    if config.method == "kto":
        from trl import KTOConfig, KTOTrainer

        desirable, undesirable = kto_weights(train_ds["label"])
        kto = KTOConfig(
            **args,
            beta=config.dpo_beta,
            desirable_weight=desirable,
            undesirable_weight=undesirable,
        )
        return KTOTrainer(args=kto, **common)
    from trl import SFTConfig, SFTTrainer

    return SFTTrainer(args=SFTConfig(**args), **common)


def kto_weights(labels: list[bool]) -> tuple[float, float]:
    """KTO's (desirable, undesirable) loss weights for a label balance: the rarer label is
    weighted up so that ``n_desirable * desirable_weight == n_undesirable * undesirable_weight``
    (the KTO paper's eq. 8 asks for a ratio in [1, 4/3]; TRL warns outside it)."""
    good = sum(1 for x in labels if x)
    bad = len(labels) - good
    if not good or not bad:
        return 1.0, 1.0
    return max(bad / good, 1.0), max(good / bad, 1.0)


def _quiet(trainer) -> None:
    """Drop the callback that prints every log dict to stdout: progress goes through events."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)


def _headline(history: list[dict[str, float]]) -> dict[str, float]:
    train = [h for h in history if "loss" in h]
    evals = [h for h in history if "eval_loss" in h]
    out: dict[str, float] = {}
    if train:
        out["first_loss"], out["last_loss"] = train[0]["loss"], train[-1]["loss"]
        rates = [h["tokens_per_s"] for h in train if "tokens_per_s" in h]
        if rates:
            out["tokens_per_s"] = sum(rates) / len(rates)
        for key in ("rewards/margins", "rewards/accuracies"):
            if key in train[-1]:
                out[f"first_{key}"], out[f"last_{key}"] = train[0][key], train[-1][key]
    if evals:
        out["eval_loss"] = evals[-1]["eval_loss"]
    return out


def run(
    dataset: str | Path | pl.DataFrame | None,
    config: TrainConfig,
    progress: Progress | None = None,
    stop: StopSignal | None = None,
) -> TrainResult:
    """Train an adapter (or the full model) on a dataset, after a pre-flight check.

    Args:
        dataset: a dataset file (any file ``curate.read_dataset`` reads, including curated TRL
            Parquet/JSONL) or a Polars frame of ``curate.records.RECORD_SCHEMA``; ``None`` takes
            ``config.dataset``.
        config: the run's config; a ``preset`` in it fills the fields it leaves unset.
        progress: receives ``TrainEvent``s (start, log, eval, checkpoint, stopped, done).
        stop: a signal (e.g. ``threading.Event``); when set, the run checkpoints and stops.

    Returns:
        The result: status, paths of the adapter, metrics file and training card, figures.

    Raises:
        DatasetFormatError: the pre-flight found blocking problems (listed in the message).
        ConfigError: QLoRA without CUDA, a bad preset or template.
        ConflictError: the output folder holds checkpoints of a different run.
        InputError: no dataset, or ``init_adapter`` is not a PEFT adapter folder.
    """
    from curate import resolve_model

    config = config.resolved()
    if config.init_adapter and not (Path(config.init_adapter) / "adapter_config.json").is_file():
        raise InputError(
            f"init_adapter {config.init_adapter}: no PEFT adapter (adapter_config.json)"
        )
    if dataset is None:
        if config.dataset is None:
            raise InputError("no dataset: pass one or set dataset in the config")
        dataset = config.dataset
    data = prepare(dataset, config.method)
    report = preflight(data, config)
    report.raise_for_errors()

    out = Path(config.output_dir)
    checkpoints = out / "checkpoints"
    print_ = fingerprint(config, data.sha256 + _adapter_sha256(config))
    resume_from = _checkpoint_to_resume(config, checkpoints, print_)
    checkpoints.mkdir(parents=True, exist_ok=True)
    (checkpoints / "run.json").write_text(json.dumps({"fingerprint": print_}))
    metrics_path = out / "metrics.jsonl"
    _trim_metrics(metrics_path, _step_of(resume_from))

    model_dir = resolve_model(config.base_model)
    tokenizer = load_tokenizer(model_dir, config.chat_template)
    train_rows, eval_rows = split(data, config.eval_fraction, config.seed)
    state = RunState()
    callbacks = make_callbacks(
        metrics_path, state, diverge_factor=config.diverge_factor, progress=progress, stop=stop
    )
    args = trainer_args(config, checkpoints, report.device, has_eval=bool(eval_rows))
    precision = resolve_precision(config.precision, report.device)
    trainer = build_trainer(
        config,
        _initial_model(config, model_dir, precision),
        tokenizer,
        to_hf(train_rows, config.method, tokenizer),
        to_hf(eval_rows, config.method, tokenizer) if eval_rows else None,
        args,
        callbacks,
    )
    _quiet(trainer)

    started_at, t0 = now_iso(), time.perf_counter()
    trainer.train(resume_from_checkpoint=resume_from)
    seconds = time.perf_counter() - t0
    first_step = _step_of(resume_from)
    steps = trainer.state.global_step

    status = "diverged" if state.diverged else ("stopped" if state.stop_reason else "completed")
    adapter_dir = None
    if status != "diverged":
        if "ref" in getattr(trainer.model, "peft_config", {}):
            # TRL's frozen copy of init_adapter, DPO's reference: not part of what was trained
            trainer.model.delete_adapter("ref")
        trainer.save_model(str(out))
        tokenizer.save_pretrained(str(out))
        adapter_dir = str(out)
        evaluated = {h["step"] for h in state.history if "eval_loss" in h}
        if status == "completed" and eval_rows and steps not in evaluated:
            trainer.evaluate()  # the held-out loss of the final weights

    metrics = _headline(state.history)
    metrics["peak_memory_gb"] = round(state.peak_memory_mb / 1024, 3)
    if state.steps_timed:
        metrics["seconds_per_step"] = state.step_seconds / state.steps_timed
    card = TrainingCard(
        base_model=config.base_model,
        base_model_path=model_dir,
        method=config.method,
        adapter=config.adapter,
        status=status,
        stop_reason=state.stop_reason,
        config=config.model_dump(mode="json"),
        data_source=data.source,
        data_sha256=data.sha256,
        n_train=len(train_rows),
        n_eval=len(eval_rows),
        excluded=data.excluded,
        steps=steps,
        resumed_from_step=first_step or None,
        metrics=metrics,
        estimated_memory_gb=report.estimated_memory_gb,
        started_at=started_at,
        seconds=seconds,
        device=report.device,
    )
    card_json, _ = card.write(out)
    if progress is not None:
        from train.callbacks import TrainEvent

        progress(
            TrainEvent(
                kind="done",
                step=steps,
                max_steps=trainer.state.max_steps,
                metrics=metrics,
                message=status,
            )
        )
    return TrainResult(
        status=status,
        stop_reason=state.stop_reason,
        output_dir=str(out),
        adapter_dir=adapter_dir,
        steps=steps,
        resumed_from_step=first_step or None,
        seconds=seconds,
        seconds_per_step=metrics.get("seconds_per_step"),
        metrics=metrics,
        metrics_path=str(metrics_path),
        card_path=str(card_json),
        preflight=report,
    )
