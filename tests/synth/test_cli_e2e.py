"""``tunesmith synth`` end to end on real Alpaca rows with SmolLM2 on the CPU, and a cached rerun."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from api.cli import cli
from curate.synth import ERROR_TYPES

pytestmark = pytest.mark.slow

CONFIG = """
max_tokens = 24
drop_truncated = false
options = { batch_size = 8, threads = 1 }
"""


def synth(task: str, data: str, out, limit: int, config) -> dict:
    args = [
        "synth",
        task,
        "--input",
        data,
        "--backend",
        "transformers",
        "--model",
        "smollm2-135m",
        "--out",
        str(out),
        "--limit",
        str(limit),
        "--config",
        str(config),
        "--json",
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{") :])


def lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.fixture()
def config(tmp_path, home, smollm2_path):
    path = tmp_path / "synth.toml"
    path.write_text(CONFIG)
    return path


def test_negatives_on_real_rows_account_for_every_pair_and_rerun_from_cache(
    shared_data, tmp_path, config
):
    data = str(shared_data / "alpaca_en_demo.json")
    report = synth("negatives", data, tmp_path / "neg", 6, config)
    assert report["n_considered"] == 6 and report["n_input"] > 6
    assert (
        sum(v["generated"] for v in report["by_error_type"].values()) == report["n_generated"] == 6
    )
    pair_drops = {k: v for k, v in report["dropped"].items() if not k.startswith("correction_")}
    assert report["n_kept"] + sum(pair_drops.values()) == 6  # every pair kept or dropped, with why
    v = report["verification"]
    assert v["judged"] == 6 - pair_drops.get("near_duplicate_pair", 0)
    pairs = lines(tmp_path / "neg" / "records.jsonl")
    assert len(pairs) == report["n_kept"]
    for p in pairs:
        synth_meta = json.loads(p["meta"])["synth"]
        assert synth_meta["error_type"] in ERROR_TYPES
        # the transformers backend's judge is the likelihood judge: both orders' A-vs-B margins
        # (chosen shown first, then second), whose mean favours the chosen answer
        judge = synth_meta["judge"]
        assert judge["kind"] == "likelihood" and len(judge["margins"]) == 2
        assert sum(judge["margins"]) > 0
        assert p["chosen"] != p["rejected"]
    assert len(lines(tmp_path / "neg" / "dropped.jsonl")) == sum(report["dropped"].values())

    again = synth("negatives", data, tmp_path / "neg2", 6, config)
    assert again["cache"]["misses"] == 0 and again["cache"]["hits"] == report["cache"]["misses"]
    assert (tmp_path / "neg2" / "records.jsonl").read_text() == (
        tmp_path / "neg" / "records.jsonl"
    ).read_text()


def test_teacher_and_diversify_on_real_rows(shared_data, tmp_path, config):
    data = str(shared_data / "alpaca_en_demo.json")
    config.write_text(CONFIG + 'teacher_select = "all"\nvariants = 1\n')
    teacher = synth("teacher", data, tmp_path / "t", 3, config)
    assert teacher["selected"] == {"all": 3} and teacher["n_generated"] == 3
    assert teacher["n_kept"] + sum(teacher["dropped"].values()) == 3
    for rec in lines(tmp_path / "t" / "records.jsonl"):
        meta = json.loads(rec["meta"])["synth"]
        assert (
            meta["original"] and meta["model"] == "smollm2-135m" and rec["completion"][0]["content"]
        )
    div = synth("diversify", data, tmp_path / "d", 4, config)
    assert div["n_generated"] == 4 and div["n_kept"] + sum(div["dropped"].values()) == 4
    assert (
        sum(div["by_style"].values())
        + sum(div["dropped"].get(r, 0) for r in ("empty_generation", "unchanged_prompt"))
        == 4
    )
    for rec in lines(tmp_path / "d" / "records.jsonl"):
        meta = json.loads(rec["meta"])["synth"]
        assert rec["prompt"][-1]["content"] != meta["original_prompt"]
