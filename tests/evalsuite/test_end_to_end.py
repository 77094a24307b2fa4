"""End to end on the CPU with the real SmolLM2: mine GSM8K failures, run base and tuned, compare,
gate, through the CLI, with every report written and the right exit code."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from api.cli import main

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "data" / "policies" / "default.toml"
MAX_TOKENS = "24"
CANARIES = [  # cases the base model answers right (checked below), that no tune may break
    {
        "id": "canary-add",
        "prompt": "What is 7 + 5?",
        "reference": 12,
        "tags": ["canary"],
        "checks": [{"type": "numeric"}],
    },
    {
        "id": "canary-capital",
        "prompt": "What is the capital of France?",
        "tags": ["canary"],
        "checks": [{"type": "contains", "value": "Paris"}],
    },
]


@pytest.fixture(scope="module")
def adapters(smollm2_path: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two LoRA adapters made with peft: a near no-op one and one whose noise breaks the model."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    out = tmp_path_factory.mktemp("adapters")
    model = AutoModelForCausalLM.from_pretrained(smollm2_path, dtype=torch.float32)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "o_proj"])
    peft = get_peft_model(model, config)
    folders = {}
    for name, std in (("mild", 1e-5), ("broken", 3.0)):
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for pname, p in peft.named_parameters():
                if "lora_" in pname:
                    p.copy_(torch.randn(p.shape, generator=g) * std)
        folders[name] = out / name
        peft.save_pretrained(folders[name])
    return folders


def _cli(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as e:
        main(argv)
    return int(e.value.code)


@pytest.mark.slow
def test_mine_run_compare_gate(home: Path, tmp_path: Path, shared_data: Path, adapters) -> None:
    import torch

    torch.set_num_threads(2)
    pool = shared_data / "gsm8k_example_model_solutions.jsonl"
    suite = tmp_path / "mined.jsonl"
    assert (
        _cli(
            [
                "eval",
                "mine",
                "--pool",
                str(pool),
                "--model",
                "smollm2-135m",
                "--limit",
                "12",
                "--max-tokens",
                MAX_TOKENS,
                "--out",
                str(suite),
            ]
        )
        == 0
    )
    mined = [json.loads(line) for line in suite.read_text().splitlines()]
    assert mined, "the base model should fail some GSM8K questions"
    assert all([ch["type"] for ch in c["checks"]] == ["numeric"] for c in mined)
    assert all(c["meta"]["mined"]["failed_checks"] == ["numeric"] for c in mined)
    with suite.open("a") as f:
        f.writelines(json.dumps(c) + "\n" for c in CANARIES)

    runs = {}
    for name, adapter in (
        ("base", None),
        ("mild", adapters["mild"]),
        ("broken", adapters["broken"]),
    ):
        runs[name] = tmp_path / name
        argv = [
            "eval",
            "run",
            "--suite",
            str(suite),
            "--model",
            "smollm2-135m",
            "--max-tokens",
            MAX_TOKENS,
            "--out",
            str(runs[name]),
        ]
        assert _cli(argv + (["--adapter", str(adapter)] if adapter else [])) == 0
    base = json.loads((runs["base"] / "run.json").read_text())
    by_id = {c["id"]: c for c in base["cases"]}
    assert all(by_id[c["id"]]["metrics"]["pass"] == 1.0 for c in CANARIES), "canaries must pass"
    assert all(by_id[c["id"]]["metrics"]["pass"] == 0.0 for c in mined)  # mined = failed
    assert base["cached"] == len(mined)  # the mining run's answers came from the cache
    broken = json.loads((runs["broken"] / "run.json").read_text())
    assert broken["perplexity"]["perplexity"] > 2 * base["perplexity"]["perplexity"]
    manifest = json.loads((runs["broken"] / "manifest.json").read_text())
    assert (
        manifest["adapter_sha256"] and manifest["model_sha256"] and manifest["chat_template_sha256"]
    )

    for name, expected in (("mild", 2), ("broken", 1)):
        cmp_dir = tmp_path / f"cmp-{name}"
        assert (
            _cli(["eval", "compare", str(runs["base"]), str(runs[name]), "--out", str(cmp_dir)])
            == 0
        )
        assert _cli(["gate", "--policy", str(POLICY), str(cmp_dir)]) == expected, name
        decision = json.loads((cmp_dir / "gate.json").read_text())
        root = ET.fromstring((cmp_dir / "junit.xml").read_text())
        page = (cmp_dir / "report.html").read_text()
        assert "Gate:" in (cmp_dir / "gate.md").read_text() and page.startswith("<!DOCTYPE html>")
        if name == "broken":
            assert set(decision["canaries_regressed"]) == {c["id"] for c in CANARIES}
            assert root.get("failures") != "0"
            assert page.index("badge regressed") < page.index("badge still_failing")
        else:
            assert decision["verdict"] == "inconclusive" and not decision["canaries_regressed"]
            assert any("min_samples" in r for r in decision["reasons"])
