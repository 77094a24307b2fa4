"""``tunesmith synth negatives --samples K --verifier numeric`` on 40 real GSM8K questions with
SmolLM2 on the CPU: every pair's chosen passes the numeric verifier and its rejected fails it, and
the rerun is served from the cache."""

from __future__ import annotations

import json
import time

import pytest

from api.cli import main
from curate.verify import get_verifier

pytestmark = pytest.mark.slow

QUESTIONS = 40
SAMPLES = 2
MAX_TOKENS = 128
INSTRUCTION = "\nAnswer briefly."
"""Appended to each question: SmolLM2's answers then end within ``MAX_TOKENS`` about three times
in four (one in three without it), so there are complete wrong answers to reject on 2 cores."""
CONFIG = """
chunk = 40
options = { batch_size = 20, threads = 2 }
"""


def run_cli(capsys, args: list[str]) -> dict:
    with pytest.raises(SystemExit) as exited:
        main(args)
    out = capsys.readouterr().out
    assert exited.value.code == 0, out
    return json.loads(out[out.index('{\n  "task"') :])  # the report, after any model logs


def lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.fixture()
def gsm8k(shared_data, tmp_path):
    """The first 40 GSM8K questions as prompt/completion rows, the ground truth as completion
    (its ``A: N`` line is what the numeric verifier reads)."""
    source = shared_data / "gsm8k_example_model_solutions.jsonl"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    rows = [json.loads(x) for x in source.read_text().splitlines()[:QUESTIONS]]
    path = tmp_path / "gsm8k.jsonl"
    path.write_text(
        "".join(
            json.dumps({"prompt": r["question"] + INSTRUCTION, "completion": r["ground_truth"]})
            + "\n"
            for r in rows
        )
    )
    return path


def test_negatives_write_verified_pairs_and_rerun_from_the_cache(
    gsm8k, tmp_path, home, smollm2_path, capsys
):
    config = tmp_path / "synth.toml"
    config.write_text(CONFIG)
    args = [
        "synth",
        "negatives",
        "--input",
        str(gsm8k),
        "--model",
        "smollm2-135m",
        "--samples",
        str(SAMPLES),
        "--verifier",
        "numeric",
        "--max-tokens",
        str(MAX_TOKENS),
        "--config",
        str(config),
        "--json",
    ]
    start = time.perf_counter()
    report = run_cli(capsys, [*args, "--out", str(tmp_path / "a")])
    seconds = time.perf_counter() - start
    s = report["sampling"]
    with capsys.disabled():
        print(
            f"\n{report['n_kept']} pairs of {QUESTIONS} questions in {seconds:.0f} s; pass@k "
            f"{s['pass_at_k']}, outcomes {s['outcomes']}, chosen longer {s['chosen_longer']}, "
            f"dropped {report['dropped']}, cache {report['cache']}"
        )
    assert s["prompts"] == QUESTIONS and report["n_generated"] == QUESTIONS * SAMPLES
    pairs = lines(tmp_path / "a" / "records.jsonl")
    assert len(pairs) == report["n_kept"] >= 20
    numeric = get_verifier("numeric")
    for pair in pairs:
        reference = json.loads(pair["meta"])["synth"]["reference"]
        assert numeric.verify(pair["chosen"][0]["content"], reference).passed
        assert not numeric.verify(pair["rejected"][0]["content"], reference).passed

    again = run_cli(capsys, [*args, "--out", str(tmp_path / "b")])
    with capsys.disabled():
        print(f"rerun: cache {again['cache']}, {again['seconds']} s")
    assert again["cache"] == {"hits": report["cache"]["misses"], "misses": 0}
    assert (tmp_path / "b" / "records.jsonl").read_text() == (
        tmp_path / "a" / "records.jsonl"
    ).read_text()
