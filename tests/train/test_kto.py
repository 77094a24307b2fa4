"""KTO on the real SmolLM2: ``kto`` records keep their label from the frame to TRL's KTOTrainer."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import train
from curate.errors import DatasetFormatError
from curate.records import Message, Record, Source, content_key, record_id, to_frame

# Needs the converted SmolLM2 folder (its tokenizer, and its weights for the run).
pytestmark = pytest.mark.slow

QUESTIONS = [("What is 2 + 2?", "4", "5"), ("What colour is the sky?", "Blue.", "Green.")]


def kto(row: int, question: str, answer: str, label: bool) -> Record:
    prompt = [Message(role="user", content=question)]
    completion = [Message(role="assistant", content=answer)]
    return Record(
        id=record_id(content_key("kto", prompt, completion, label=label)),
        kind="kto",
        prompt=prompt,
        completion=completion,
        label=label,
        source=Source(file="t", row=row),
    )


@pytest.fixture(scope="module")
def kto_frame() -> pl.DataFrame:
    """Four records: each question with a desirable and an undesirable answer."""
    records = []
    for q, good, bad in QUESTIONS:
        records += [kto(len(records), q, good, True), kto(len(records) + 1, q, bad, False)]
    return to_frame(records)


def _sft_record() -> Record:
    p, c = [Message(role="user", content="Hi")], [Message(role="assistant", content="Hello")]
    return Record(
        id=record_id(content_key("sft", p, c)),
        kind="sft",
        prompt=p,
        completion=c,
        source=Source(file="t", row=9),
    )


def _config(path: str, tmp_path, **kw) -> train.TrainConfig:
    return train.TrainConfig(
        base_model=path,
        method="kto",
        output_dir=str(tmp_path / "out"),
        eval_fraction=0.0,
        **kw,
    )


def test_kto_rows_keep_their_labels_and_other_kinds_are_counted(kto_frame):
    from train.data import prepare

    data = prepare(pl.concat([kto_frame, to_frame([_sft_record()])]), "kto")
    assert data.excluded == {"wrong_kind_sft": 1}
    assert [r["label"] for r in data.rows] == [True, False, True, False]
    assert data.rows[1]["completion"] == [{"role": "assistant", "content": "5"}]
    with pytest.raises(DatasetFormatError, match="prompt \\+ completion \\+ label"):
        prepare(to_frame([_sft_record()]), "kto")


def test_kto_preflight_refuses_one_label_and_a_batch_of_one(kto_frame, smollm2_path, tmp_path):
    only_good = kto_frame.filter(pl.col("label"))
    report = train.preflight(only_good, _config(smollm2_path, tmp_path, batch_size=2))
    assert not report.ok and "2 desirable and 0 undesirable" in report.errors[0]
    report = train.preflight(kto_frame, _config(smollm2_path, tmp_path, batch_size=1))
    assert not report.ok and "batch_size must be >= 2" in report.errors[0]
    report = train.preflight(kto_frame, _config(smollm2_path, tmp_path, batch_size=4))
    assert report.ok and report.method == "kto" and report.n_train == 4
    assert "⟦4<|im_end|>" in report.debug_view


def test_kto_weights_balance_the_labels():
    from train.run import kto_weights

    assert kto_weights([True, False]) == (1.0, 1.0)
    assert kto_weights([True, False, False, False]) == (3.0, 1.0)
    assert kto_weights([True, True, False]) == (1.0, 2.0)


def test_kto_with_lora_trains_on_both_labels(kto_frame, smollm2_path, tmp_path):
    from safetensors.torch import load_file

    config = _config(
        smollm2_path,
        tmp_path,
        rank=4,
        target_modules=["q_proj", "v_proj"],
        learning_rate=5e-4,
        batch_size=4,
        max_length=64,
        max_steps=3,
        warmup=0.0,
    )
    result = train.run(kto_frame, config)
    assert result.status == "completed" and result.steps == 3
    rows = [json.loads(x) for x in Path(result.metrics_path).read_text().splitlines()]
    logged = [r for r in rows if "loss" in r]
    assert len(logged) == 3
    # KTO logs a reward per label only where that label was in the batch: both reached it.
    assert all("rewards/chosen" in r and "rewards/rejected" in r for r in logged), logged
    # One batch holds all four records, so each step measures the same ones. Step 1 is the
    # reference itself (LoRA starts at zero): the margin starts at 0 and must grow.
    assert logged[0]["rewards/margins"] == pytest.approx(0.0, abs=1e-6)
    margins = [r["rewards/margins"] for r in logged]
    assert margins[2] > margins[1] > 0, margins  # measured here: 0, 0.030, 0.051
    weights = load_file(f"{result.adapter_dir}/adapter_model.safetensors")
    assert any(float(w.abs().sum()) > 0 for k, w in weights.items() if "lora_B" in k)
    card = json.loads(Path(result.card_path).read_text())
    assert card["method"] == "kto" and card["n_train"] == 4
