"""The real thing: SmolLM2 learns a fixed JSON answer format from a LoRA run on this CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from train import TrainingCard

pytestmark = pytest.mark.slow


def test_tuned_model_follows_the_format_far_more_often_than_the_base(
    habit_run, adapter_model, held_out_prompts, generate, follows
):
    model, tokenizer = adapter_model
    tuned = generate(model, tokenizer, held_out_prompts)
    with model.disable_adapter():
        base = generate(model, tokenizer, held_out_prompts)
    tuned_ok = sum(map(follows, tuned))
    base_ok = sum(map(follows, base))
    assert tuned_ok >= 8, tuned
    assert tuned_ok >= base_ok + 5, (base, tuned)


def test_adapter_weights_changed_and_loss_fell(habit_run):
    from safetensors.torch import load_file

    result, _ = habit_run
    tensors = load_file(str(Path(result.adapter_dir) / "adapter_model.safetensors"))
    lora_b = [t for name, t in tensors.items() if "lora_B" in name]
    # PEFT initialises every lora_B to zero: any non-zero B was learned.
    assert lora_b and all(t.abs().max() > 0 for t in lora_b)
    assert result.metrics["last_loss"] < result.metrics["first_loss"] / 2


def test_run_writes_metrics_card_and_events(habit_run):
    result, events = habit_run
    assert result.status == "completed" and result.steps == 24
    rows = [json.loads(line) for line in Path(result.metrics_path).read_text().splitlines()]
    train_rows = [r for r in rows if "loss" in r]
    assert len(train_rows) == 24
    for key in ("learning_rate", "grad_norm", "tokens_per_s", "peak_memory_mb"):
        assert all(key in r for r in train_rows), key
    assert any("eval_loss" in r for r in rows)  # the held-out loss
    card = TrainingCard.model_validate_json(Path(result.card_path).read_text())
    assert card.data_sha256 and card.n_train + card.n_eval == 192
    assert card.versions["trl"] != "absent" and card.metrics["eval_loss"] > 0
    assert "## Metrics" in (Path(result.output_dir) / "training_card.md").read_text()
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and "checkpoint" in kinds
    assert max(e.step for e in events if e.kind == "log") == 24
