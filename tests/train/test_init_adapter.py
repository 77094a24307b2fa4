"""``init_adapter``: a DPO run that continues an existing LoRA adapter (the demo's SFT → DPO).

The adapter it starts from is a real PEFT adapter with non-zero weights, so the base and the
adapter answer differently: DPO's first margins are zero only if the reference is the adapter.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curate import ConfigError, InputError, read_dataset, write_records
from train import TrainConfig, build_config, run


def test_init_adapter_continues_lora_only(tmp_path):
    with pytest.raises(ConfigError, match="init_adapter"):
        build_config({"base_model": "m", "adapter": "full", "init_adapter": "/x"})
    config = TrainConfig(base_model="m", init_adapter=str(tmp_path), output_dir=str(tmp_path))
    with pytest.raises(InputError, match="no PEFT adapter"):  # before anything is loaded
        run(tmp_path / "absent.jsonl", config)


@pytest.fixture(scope="module")
def start_adapter(smollm2_path, tmp_path_factory) -> Path:
    """A rank-4 LoRA adapter on q_proj/v_proj with random (non-zero) weights."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(smollm2_path, dtype=torch.float32)
    config = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules=["q_proj", "v_proj"],
        init_lora_weights=False,
        task_type="CAUSAL_LM",
    )
    folder = tmp_path_factory.mktemp("start") / "adapter"
    get_peft_model(base, config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def triples(shared_data, tmp_path_factory) -> Path:
    """The 4 shortest triples of dpo_en_demo.json."""
    import polars as pl

    records = read_dataset(shared_data / "dpo_en_demo.json").records
    chars = sum(
        pl.col(side).list.eval(pl.element().struct.field("content").str.len_chars()).list.sum()
        for side in ("prompt", "chosen", "rejected")
    )
    short = records.with_columns(size=chars).sort("size").head(4).drop("size")
    return write_records(short, tmp_path_factory.mktemp("dpo") / "triples.jsonl")


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


@pytest.mark.slow
def test_dpo_continues_the_adapter_against_itself_as_reference(
    start_adapter, triples, smollm2_path, tmp_path
):
    config = TrainConfig(
        base_model=smollm2_path,
        method="dpo",
        init_adapter=str(start_adapter),
        rank=16,  # ignored: the adapter keeps its own rank
        learning_rate=5e-4,
        batch_size=4,
        max_length=160,
        eval_fraction=0.0,
        max_steps=3,
        warmup=0.0,
        output_dir=str(tmp_path / "out"),
    )
    result = run(triples, config)
    assert result.status == "completed" and result.steps == 3
    rows = [json.loads(x) for x in Path(result.metrics_path).read_text().splitlines()]
    margins = [r["rewards/margins"] for r in rows if "rewards/margins" in r]
    # One batch holds all four triples. The reference is a frozen copy of the start adapter,
    # so the first step's policy is the reference: margins start at 0 (against the base they
    # would not: the start adapter's weights are random) and then grow.
    assert margins[0] == pytest.approx(0.0, abs=1e-5)
    assert margins[-1] > margins[0], margins

    out = Path(result.adapter_dir or "")
    saved = json.loads((out / "adapter_config.json").read_text())
    assert saved["r"] == 4 and sorted(saved["target_modules"]) == ["q_proj", "v_proj"]
    assert not (out / "ref").exists()  # TRL's reference copy is not saved as part of the result
    before, after = _weights(start_adapter), _weights(out)
    assert before.keys() == after.keys()
    assert any(not before[k].equal(after[k]) for k in before)  # trained further, not restarted
    card = json.loads(Path(result.card_path).read_text())
    assert card["config"]["init_adapter"] == str(start_adapter)
