"""Interrupt a real run, resume it from its checkpoint; refuse to mix runs in one folder."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import train
from curate.errors import ConflictError

pytestmark = pytest.mark.slow


def test_a_stopped_run_resumes_and_its_step_count_continues(habit_frame, smollm2_path, tmp_path):
    config = train.TrainConfig(
        base_model=smollm2_path,
        rank=4,
        target_modules=["q_proj", "v_proj"],
        max_steps=4,
        batch_size=2,
        max_length=64,
        eval_fraction=0,
        save_every=10,
        output_dir=str(tmp_path / "run"),
    )
    small = habit_frame.head(16)
    stop = threading.Event()

    def interrupt_after_step_two(event: train.TrainEvent) -> None:
        if event.kind == "log" and event.step >= 2:
            stop.set()  # honoured at the end of the next step

    first = train.run(small, config, progress=interrupt_after_step_two, stop=stop)
    assert first.status == "stopped" and "stopped by the caller" in first.stop_reason
    assert first.steps == 3
    assert (tmp_path / "run" / "checkpoints" / "checkpoint-3").is_dir()

    second = train.run(small, config)
    assert second.status == "completed"
    assert second.resumed_from_step == 3 and second.steps == 4
    steps = [
        json.loads(line)["step"]
        for line in Path(second.metrics_path).read_text().splitlines()
        if "loss" in json.loads(line)
    ]
    assert steps == [1, 2, 3, 4]  # one metrics history across the interruption
    card = json.loads(Path(second.card_path).read_text())
    assert card["resumed_from_step"] == 3

    with pytest.raises(ConflictError, match="different run"):
        train.run(small, config.with_overrides(learning_rate=1e-5))
