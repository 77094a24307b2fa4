"""TrainConfig, presets and the divergence watchdog: pure logic, no model."""

from __future__ import annotations

import math

import pytest

import train
from curate.errors import ConfigError
from train.callbacks import Watchdog
from train.estimate import estimate_steps

FAMILIES = {"granite", "gemma", "qwen", "mistral", "llama", "smollm"}


def test_config_from_toml_with_a_train_table(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[train]\nbase_model = "smollm2-135m"\nmethod = "dpo"\nrank = 4\n')
    config = train.load_config(path)
    assert config.method == "dpo" and config.rank == 4 and config.lora_alpha == 8


def test_config_from_json_and_errors_name_the_field(tmp_path):
    path = tmp_path / "run.json"
    path.write_text('{"base_model": "m", "adapter": "qlora", "learning_rate": 1e-4}')
    assert train.load_config(path).adapter == "qlora"
    path.write_text('{"base_model": "m", "batch_size": 0, "colour": "red"}')
    with pytest.raises(ConfigError) as e:
        train.load_config(path)
    assert "batch_size" in str(e.value) and "colour" in str(e.value)


def test_every_family_preset_loads_with_its_sources():
    presets = train.load_presets()
    assert set(presets) == FAMILIES
    for preset in presets.values():
        assert preset.lr_lora > preset.lr_full  # LoRA wants the larger step
        assert preset.sources.strip() and preset.notes.strip()
        assert "q_proj" in preset.target_modules


def test_preset_fills_only_unset_fields():
    config = train.build_config({"base_model": "m", "preset": "qwen", "learning_rate": 3e-4})
    assert config.target_modules == "all-linear"  # applied when the run resolves it
    config = config.resolved()
    assert config.learning_rate == 3e-4  # the user's value wins
    assert config.target_modules == train.get_preset("qwen").target_modules
    assert config.end_of_turn == "<|im_end|>"
    full = train.build_config({"base_model": "m", "preset": "qwen", "adapter": "full"})
    full = full.with_overrides(preset="llama").resolved()  # a CLI --preset replaces the file's
    assert full.learning_rate == train.get_preset("llama").lr_full
    assert full.end_of_turn == "<|eot_id|>"
    with pytest.raises(ConfigError, match="unknown preset"):
        train.build_config({"base_model": "m", "preset": "gpt9"})


def test_overrides_keep_the_file_values():
    config = train.build_config({"base_model": "m", "rank": 4})
    changed = config.with_overrides(output_dir="x", max_steps=None)
    assert changed.rank == 4 and changed.output_dir == "x" and changed.max_steps is None


def test_watchdog_stops_on_nan_and_blow_up_but_not_on_a_wobble_near_zero():
    dog = Watchdog(factor=4.0)
    assert [dog.check(v) for v in (2.0, 1.0, 0.5, 1.5)] == [None] * 4  # 1.5 < first loss
    assert "blew up" in dog.check(2.5)
    assert "nan" in Watchdog(4.0).check(math.nan)
    assert "gradient norm" in Watchdog(4.0).check(1.0, grad_norm=math.inf)
    low = Watchdog(4.0)
    assert [low.check(v) for v in (1.5, 0.02, 0.1, 0.3)] == [None] * 4


def test_step_estimate_matches_trainer_counting():
    assert estimate_steps(100, 4, 1, 1.0, None) == 25
    assert estimate_steps(100, 4, 2, 2.0, None) == 26  # 13 per epoch (last partial accumulation)
    assert estimate_steps(100, 4, 1, 1.0, 7) == 7


@pytest.mark.slow  # imports transformers and torch
def test_callbacks_stop_a_diverging_run_and_say_so(tmp_path):
    from transformers import TrainerControl, TrainerState

    from train.callbacks import RunState, make_callbacks

    events: list = []
    run_state = RunState()
    metrics, watchdog, _ = make_callbacks(
        tmp_path / "m.jsonl", run_state, diverge_factor=4.0, progress=events.append
    )
    state, control = TrainerState(max_steps=10), TrainerControl()
    metrics.on_train_begin(None, state, control)
    for step, loss in enumerate([2.0, 1.0, math.nan], start=1):
        state.global_step = step
        logs = {"loss": loss, "grad_norm": 1.0, "learning_rate": 1e-4, "num_tokens": 100.0 * step}
        metrics.on_log(None, state, control, logs=logs)
        watchdog.on_log(None, state, control, logs=logs)
    assert control.should_training_stop and not control.should_save
    assert (
        run_state.diverged and "step 3" in run_state.stop_reason and "nan" in run_state.stop_reason
    )
    assert events[-1].kind == "stopped" and "diverged" in events[-1].message
    rows = (tmp_path / "m.jsonl").read_text().splitlines()
    assert len(rows) == 3 and '"tokens_per_s"' in rows[0] and '"peak_memory_mb"' in rows[0]
