"""Checks before any compute is spent: format, chat template, loss mask, lengths, memory.

The loss mask checked is the one the trainer uses: for SFT the whole conversation with every
assistant turn trained (``train.chat``, the very ids and mask handed to TRL); for DPO and KTO the
answer after the prompt, as TRL computes it. Each trained turn must hold its text and its
end-of-turn token, and a template must show the tool calls and tool definitions a record carries.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, Field

from curate import ConfigError, DatasetFormatError, InputError, MissingExtra
from train.chat import has_tools, mask_view, sequences, unrendered_tools
from train.config import TrainConfig
from train.data import ANSWERS_FOR_METHOD, TrainingData, prepare, split
from train.estimate import estimate_memory_bytes, estimate_steps
from train.templates import BUILTIN_TEMPLATES

MAX_LISTED = 5
"""How many offending record ids an error lists."""


class PreflightReport(BaseModel):
    """What the pre-flight found; ``errors`` block the run, ``warnings`` do not."""

    method: str
    """``sft``, ``dpo`` or ``kto``."""
    n_input: int
    """Records (and unreadable rows) offered."""
    n_train: int
    """Records in the training split."""
    n_eval: int
    """Records held out for the eval loss."""
    excluded: dict[str, int] = Field(default_factory=dict)
    """Records left out before training, by reason code."""
    end_of_turn: str
    """The token checked to be inside the loss mask at the end of every assistant turn."""
    template_failures: int = 0
    """Examples the chat template could not render."""
    missing_end_of_turn: int = 0
    """Examples whose trained tokens lack the end-of-turn token (the model would not learn to stop)."""
    fully_masked: int = 0
    """Examples with no trained token at all."""
    turn_not_trained: int = 0
    """Examples with an assistant turn whose text is not inside its trained tokens."""
    tools_not_rendered: int = 0
    """Records whose tool calls or tool definitions the chat template drops (or cannot render)."""
    over_max_length: int = 0
    """Sequences longer than ``max_length`` (truncated from the end)."""
    truncation_drops_end_of_turn: int = 0
    """Of those, sequences whose truncation cuts the end-of-turn token off."""
    dropped_prompt_fills_max_length: int = 0
    """Examples TRL will drop because the prompt alone fills ``max_length``."""
    max_tokens: int = 0
    """Longest rendered sequence, in tokens."""
    mean_tokens: float = 0.0
    """Mean rendered sequence length, in tokens."""
    estimated_steps: int = 0
    """Optimizer steps the run will take."""
    estimated_memory_gb: float | None = None
    """Rough peak memory of a step (see ``train.estimate``); ``None`` if the model is not local."""
    device: str = "cpu"
    """``cuda`` or ``cpu``."""
    debug_view: str = ""
    """The first example rendered with each trained span between ⟦ and ⟧."""
    warnings: list[str] = Field(default_factory=list)
    """Problems that do not block the run."""
    errors: list[str] = Field(default_factory=list)
    """Problems that block the run."""

    @property
    def ok(self) -> bool:
        """True when nothing blocks the run."""
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise ``DatasetFormatError`` listing every blocking problem, if any."""
        if self.errors:
            raise DatasetFormatError("pre-flight failed:\n- " + "\n- ".join(self.errors))


def check_hardware(config: TrainConfig) -> str:
    """The device the run will use; refuse QLoRA where 4-bit training cannot run.

    Raises:
        ConfigError: QLoRA without a CUDA GPU.
        MissingExtra: QLoRA without bitsandbytes installed.
    """
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if config.adapter == "qlora":
        if device != "cuda":
            raise ConfigError(
                "adapter='qlora' needs a CUDA GPU: bitsandbytes 4-bit training does not run on this "
                "machine (no CUDA). Use adapter='lora' here, or run on a GPU machine."
            )
        if importlib.util.find_spec("bitsandbytes") is None:
            raise MissingExtra("adapter='qlora' needs bitsandbytes: pip install 'tunesmith[gpu]'")
    return device


def load_tokenizer(model_dir: str, chat_template: str | None = None):
    """The model's tokenizer, with its chat template replaced by a Jinja file (or a template
    shipped in ``train.templates``, by name) if one is given.

    Raises:
        InputError: the template file is missing.
        ConfigError: the tokenizer has no chat template at all.
    """
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if chat_template is not None:
        path = Path(chat_template)
        if path.is_file():
            tokenizer.chat_template = path.read_text(encoding="utf-8")
        elif chat_template in BUILTIN_TEMPLATES:
            tokenizer.chat_template = BUILTIN_TEMPLATES[chat_template]
        else:
            raise InputError(
                f"chat_template {path}: no such file (nor a shipped template: "
                f"{', '.join(sorted(BUILTIN_TEMPLATES))})"
            )
    if not tokenizer.chat_template:
        raise ConfigError(
            f"{model_dir}: the tokenizer has no chat template; set chat_template to a Jinja file"
        )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def end_of_turn_id(tokenizer, config: TrainConfig) -> tuple[str, int]:
    """The end-of-turn token and its id: the config's (or preset's), else the tokenizer's EOS.

    Raises:
        ConfigError: the token is not a single token of the vocabulary.
    """
    token = config.end_of_turn or tokenizer.eos_token
    ids = tokenizer.encode(token, add_special_tokens=False) if token else []
    if len(ids) != 1:
        raise ConfigError(f"end_of_turn {token!r} is not one token of this tokenizer's vocabulary")
    return token, ids[0]


def _turn_missing(tokenizer, trained: list[int], messages: list[dict]) -> bool:
    """True when an assistant message's text (or a call's name) is absent from its trained tokens."""
    decoded = tokenizer.decode(trained)
    for m in messages:
        if m.get("content") and m["content"].strip() not in decoded:
            return True
        if any(c["function"]["name"] not in decoded for c in m.get("tool_calls") or []):
            return True
    return False


def _check_example(
    tokenizer,
    row: dict[str, Any],
    method: str,
    eot_id: int,
    max_length: int,
    tally: Counter,
    lengths: list[int],
    offenders: dict[str, list[str]],
) -> None:
    def flag(reason: str, detail: str | None = None) -> None:
        tally[reason] += 1
        if len(offenders.setdefault(reason, [])) < MAX_LISTED:
            offenders[reason].append(row["id"])
        if detail:
            offenders.setdefault(f"{reason}_detail", [detail])

    try:
        seqs = sequences(tokenizer, row, ANSWERS_FOR_METHOD[method])
    except Exception as e:  # the template is user code: any failure is a finding
        if method == "sft":
            messages = row["messages"]
        else:
            messages = row["prompt"] + [m for c in ANSWERS_FOR_METHOD[method] for m in row[c]]
        tooled = has_tools(messages, row.get("tools"))
        flag("tools_not_rendered" if tooled else "template_failures", f"{type(e).__name__}: {e}")
        return
    for seq in seqs:
        lacking = unrendered_tools(seq.text, seq.messages, row.get("tools"))
        if lacking:
            flag("tools_not_rendered", f"the rendered text lacks {lacking}")
            return
    for _, _, ids, segments in seqs:
        lengths.append(len(ids))
        spans = [span for span, _ in segments if span[1] > span[0]]
        if not spans:
            flag("fully_masked")
            continue
        if any(ids[s:e].count(eot_id) < len(ms) for (s, e), ms in segments):
            flag("missing_end_of_turn")
        if any(_turn_missing(tokenizer, ids[s:e], ms) for (s, e), ms in segments):
            flag("turn_not_trained")
        if len(ids) > max_length:
            flag("over_max_length")
            trained_eots = [i for s, e in spans for i in range(s, e) if ids[i] == eot_id]
            if spans[0][0] >= max_length:
                flag("dropped_prompt_fills_max_length")
            elif trained_eots and trained_eots[-1] >= max_length:
                flag("truncation_drops_end_of_turn")


def preflight(
    dataset: str | Path | pl.DataFrame | TrainingData, config: TrainConfig
) -> PreflightReport:
    """Check a dataset and config before training: nothing is loaded but the tokenizer.

    Returns a report; ``report.errors`` lists what would make the run useless or crash (a
    template that cannot render, an end-of-turn token outside the loss mask, an assistant turn
    outside it, tool calls the template drops, examples with no trained token, KTO data with one
    label only). ``train.run`` raises on them before loading the model.

    Raises:
        ConfigError: QLoRA without CUDA, a tokenizer without a chat template, a bad end_of_turn.
        DatasetFormatError: no record fits the method.
    """
    from curate import resolve_model

    config = config.resolved()
    device = check_hardware(config)
    data = dataset if isinstance(dataset, TrainingData) else prepare(dataset, config.method)
    train_rows, eval_rows = split(data, config.eval_fraction, config.seed)
    model_dir = resolve_model(config.base_model)
    tokenizer = load_tokenizer(model_dir, config.chat_template)
    eot, eot_id = end_of_turn_id(tokenizer, config)

    tally: Counter[str] = Counter()
    offenders: dict[str, list[str]] = {}
    lengths: list[int] = []
    for row in data.rows:
        _check_example(
            tokenizer, row, config.method, eot_id, config.max_length, tally, lengths, offenders
        )

    try:
        first = sequences(tokenizer, data.rows[0], ANSWERS_FOR_METHOD[config.method])[0]
        debug = mask_view(tokenizer, first.ids, [span for span, _ in first.segments])
    except Exception as e:
        debug = f"(template failed: {e})"

    def ids(reason: str) -> str:
        return ", ".join(offenders.get(reason, []))

    def detail(reason: str) -> str:
        return offenders.get(f"{reason}_detail", [""])[0]

    errors, warnings = [], []
    if tally["tools_not_rendered"]:
        template = f" (chat_template {config.chat_template})" if config.chat_template else ""
        errors.append(
            f"the chat template of {config.base_model}{template} does not render tool calls or "
            f"tool definitions: {tally['tools_not_rendered']} record(s) carry them and "
            f"{detail('tools_not_rendered')} (e.g. ids {ids('tools_not_rendered')}). Training "
            "them would teach the model turns without their calls. Use a template that renders "
            '`tool_calls` and `tools` (for SmolLM2: chat_template = "smollm2-tools", its own '
            "template plus <tool_call> JSON blocks), or leave these records out."
        )
    if tally["template_failures"]:
        errors.append(
            f"the chat template failed on {tally['template_failures']} example(s) "
            f"({detail('template_failures')}); e.g. ids {ids('template_failures')}"
        )
    if tally["missing_end_of_turn"]:
        errors.append(
            f"{tally['missing_end_of_turn']} example(s) train no {eot!r} at the end of an "
            f"assistant turn: the loss mask excludes the end-of-turn token, so the model would not "
            f"learn to stop (e.g. ids {ids('missing_end_of_turn')}). Fix the chat template or set "
            f"end_of_turn. Rendered, trained tokens in ⟦⟧:\n{debug}"
        )
    if tally["turn_not_trained"]:
        errors.append(
            f"{tally['turn_not_trained']} example(s) have an assistant turn whose text is not in "
            f"its trained tokens: the template rewrites or drops it (e.g. ids "
            f"{ids('turn_not_trained')}). Rendered, trained tokens in ⟦⟧:\n{debug}"
        )
    if tally["fully_masked"]:
        errors.append(
            f"{tally['fully_masked']} example(s) have no trained token at all "
            f"(e.g. ids {ids('fully_masked')})"
        )
    if config.method == "kto":
        errors += _kto_problems(train_rows, config.batch_size)
    if tally["over_max_length"]:
        warnings.append(
            f"{tally['over_max_length']} sequence(s) exceed max_length={config.max_length} and are "
            f"truncated; {tally['truncation_drops_end_of_turn']} lose their end-of-turn token, "
            f"{tally['dropped_prompt_fills_max_length']} are dropped by TRL (prompt fills max_length)"
        )
    if data.excluded:
        warnings.append(f"records left out before training: {data.excluded}")
    if config.eval_fraction > 0 and not eval_rows:
        warnings.append(f"too few records ({len(data.rows)}) for a held-out split: no eval loss")

    steps = estimate_steps(
        len(train_rows), config.batch_size, config.grad_accum, config.epochs, config.max_steps
    )
    checkpointing = (
        config.gradient_checkpointing
        if config.gradient_checkpointing is not None
        else device == "cuda"
    )
    memory = estimate_memory_bytes(
        Path(model_dir),
        adapter=config.adapter,
        rank=config.rank,
        target_modules=config.target_modules,
        precision=resolve_precision(config.precision, device),
        batch_size=config.batch_size,
        seq_len=min(max(lengths or [1]), config.max_length),
        device=device,
        checkpointing=checkpointing,
        pairs=config.method in ("dpo", "kto"),
    )
    return PreflightReport(
        method=config.method,
        n_input=data.n_input,
        n_train=len(train_rows),
        n_eval=len(eval_rows),
        excluded=data.excluded,
        end_of_turn=eot,
        template_failures=tally["template_failures"],
        missing_end_of_turn=tally["missing_end_of_turn"],
        fully_masked=tally["fully_masked"],
        turn_not_trained=tally["turn_not_trained"],
        tools_not_rendered=tally["tools_not_rendered"],
        over_max_length=tally["over_max_length"],
        truncation_drops_end_of_turn=tally["truncation_drops_end_of_turn"],
        dropped_prompt_fills_max_length=tally["dropped_prompt_fills_max_length"],
        max_tokens=max(lengths or [0]),
        mean_tokens=round(sum(lengths) / len(lengths), 1) if lengths else 0.0,
        estimated_steps=steps,
        estimated_memory_gb=round(memory / 1e9, 2) if memory else None,
        device=device,
        debug_view=debug,
        warnings=warnings,
        errors=errors,
    )


def _kto_problems(rows: list[dict[str, Any]], batch_size: int) -> list[str]:
    """What stops TRL's KTO from learning: one label only, or a batch too small for its KL term."""
    problems = []
    good = sum(1 for r in rows if r["label"])
    if not good or good == len(rows):
        problems.append(
            f"KTO needs desirable (label=true) and undesirable (label=false) records; the training "
            f"split holds {good} desirable and {len(rows) - good} undesirable"
        )
    if batch_size < 2:
        problems.append(
            "KTO estimates its KL term from mismatched pairs within a batch: batch_size must be >= 2"
        )
    return problems


def resolve_precision(precision: str, device: str) -> str:
    """``auto`` to a concrete dtype name: bf16 on a CUDA GPU that supports it, else fp32."""
    if precision != "auto":
        return precision
    if device == "cuda":
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"
