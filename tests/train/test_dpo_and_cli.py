"""End to end through the CLI: DPO with LoRA on a slice of real preference data, SFT with LoRA,
the pre-flight report, and merging the shared habit adapter with its parity check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli
from curate import read_dataset, write_records

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dpo_slice(shared_data, tmp_path_factory) -> Path:
    """The 4 shortest triples of dpo_en_demo.json, written as a curated TRL JSONL file."""
    import polars as pl

    records = read_dataset(shared_data / "dpo_en_demo.json").records
    size = (
        pl.col("prompt").list.eval(pl.element().struct.field("content").str.len_chars()).list.sum()
        + pl.col("chosen")
        .list.eval(pl.element().struct.field("content").str.len_chars())
        .list.sum()
        + pl.col("rejected")
        .list.eval(pl.element().struct.field("content").str.len_chars())
        .list.sum()
    )
    short = records.with_columns(size=size).sort("size").head(4).drop("size")
    return write_records(short, tmp_path_factory.mktemp("dpo") / "slice.jsonl")


def _toml(path: Path, **fields) -> Path:
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in fields.items()))
    return path


def test_cli_dpo_with_lora_moves_reward_margins_up(dpo_slice, smollm2_path, tmp_path):
    config = _toml(
        tmp_path / "dpo.toml",
        base_model=smollm2_path,
        method="dpo",
        rank=8,
        target_modules=["q_proj", "v_proj"],
        learning_rate=5e-4,
        batch_size=4,
        max_length=160,
        eval_fraction=0.0,
        max_steps=4,
        warmup=0.0,
    )
    out = tmp_path / "dpo-out"
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--config",
            str(config),
            "--dataset",
            str(dpo_slice),
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert run["status"] == "completed" and run["steps"] == 4
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    margins = [r["rewards/margins"] for r in rows if "rewards/margins" in r]
    assert len(margins) == 4
    # One batch holds all four triples, so every step measures the same pairs. Step 1 is the
    # reference itself (LoRA starts at zero): margins start at 0 and must grow.
    assert margins[0] == pytest.approx(0.0, abs=1e-6)
    assert margins[-1] > 0.2 and margins[-1] > margins[1], margins
    assert (out / "adapter_model.safetensors").is_file() and (out / "training_card.md").is_file()


def test_cli_sft_with_lora_end_to_end(habit_frame, smollm2_path, tmp_path):
    data = write_records(habit_frame.head(12), tmp_path / "sft.parquet")
    config = _toml(
        tmp_path / "sft.toml",
        base_model=smollm2_path,
        dataset=str(data),
        rank=4,
        target_modules=["q_proj"],
        batch_size=2,
        max_length=64,
        eval_fraction=0.0,
    )
    out = tmp_path / "sft-out"
    result = CliRunner().invoke(
        cli, ["train", "--config", str(config), "--out", str(out), "--max-steps", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "completed: 2 steps" in result.output
    card = json.loads((out / "training_card.json").read_text())
    assert card["data_source"] == str(data) and card["steps"] == 2
    assert (out / "adapter_config.json").is_file() and (out / "tokenizer.json").is_file()


def test_cli_check_prints_the_mask_and_fails_on_a_bad_template(habit_frame, smollm2_path, tmp_path):
    data = write_records(habit_frame.head(6), tmp_path / "sft.jsonl")
    template = tmp_path / "bad.jinja"
    template.write_text(
        "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] }}"
        "{% if m['role'] != 'assistant' %}{{ '<|im_end|>\\n' }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    )
    good = _toml(tmp_path / "good.toml", base_model=smollm2_path, dataset=str(data))
    bad = _toml(
        tmp_path / "bad.toml",
        base_model=smollm2_path,
        dataset=str(data),
        chat_template=str(template),
    )
    ok = CliRunner().invoke(cli, ["train", "--config", str(good), "--check"])
    assert ok.exit_code == 0 and "pre-flight ok" in ok.output and "⟦" in ok.output
    failed = CliRunner().invoke(cli, ["train", "--config", str(bad), "--check"])
    assert failed.exit_code == 2 and "excludes the end-of-turn token" in failed.output


def test_cli_merge_matches_the_adapter_on_its_base(habit_run, held_out_prompts, follows, tmp_path):
    result, _ = habit_run
    out = tmp_path / "merged"
    args = ["train", "merge", result.adapter_dir, "--out", str(out), "--json"]
    for prompt in held_out_prompts[:3]:
        args += ["--prompt", prompt]
    merged = CliRunner().invoke(cli, args)
    assert merged.exit_code == 0, merged.output
    parity = json.loads(merged.stdout)
    assert parity["parity_ok"] and parity["max_logprob_diff"] < 1e-3
    assert all(follows(p["merged_text"]) for p in parity["prompts"])
    assert (out / "config.json").is_file() and not (out / "adapter_config.json").exists()
