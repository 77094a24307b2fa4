"""Embedding speed and the audit's time: MiniLM (sentence-transformers) against the static model.

Prints, measured in this run:

1. texts/s of each encoder on the records of alpaca_random_9k (prompt then answer, as semantic
   dedup embeds them; a ``--subset`` of them for MiniLM, which is slow on a CPU);
2. the semantic dedup step on that subset with each model (a fresh store each time: nothing
   cached), and the duplicates each finds;
3. the full default audit (``curate.run``) of alpaca_random_9k with the static model, by step;
   with ``--full-minilm`` also with MiniLM (about 20 minutes on a busy 2-core machine).

    OMP_NUM_THREADS=1 .venv/bin/python bench/embeddings.py [--subset 1000] [--full-minilm]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "alpaca_random_9k.json"


def records():  # type: ignore[no-untyped-def]
    from curate.io.read import read_rows

    return read_rows(json.loads(DATA.read_text())).records


def texts_per_second(model: str, texts: list[str]) -> tuple[float, float]:
    """(load seconds, texts/s) of an encoder on ``texts``, nothing cached."""
    from curate.models.embed import Embedder, load_encoder

    start = time.perf_counter()
    load_encoder(model)
    loaded = time.perf_counter() - start
    embed = Embedder(model)
    start = time.perf_counter()
    embed(texts)
    return loaded, len(texts) / (time.perf_counter() - start)


def semantic_step(model: str, frame) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """Seconds and duplicates of the semantic dedup step with a fresh store."""
    from curate.dedup.semantic import SemanticConfig, SemanticDedup
    from curate.store.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "s.duckdb")
        start = time.perf_counter()
        result = SemanticDedup(SemanticConfig(model=model), store=store).run(frame)
        secs = time.perf_counter() - start
        store.close()
    return secs, result.figures.duplicates


def full_audit(model: str) -> dict[str, float]:
    """Per-step seconds of the default audit of alpaca_random_9k with a fresh store."""
    from curate import CurateConfig, run
    from curate.dedup.semantic import SemanticConfig
    from curate.store.store import Store

    config = CurateConfig(semantic=SemanticConfig(model=model))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "s.duckdb")
        result = run(DATA, config, out_dir=Path(tmp) / "out", store=store)
        store.close()
    return result.timings


def main() -> None:
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, default=1000)
    parser.add_argument("--full-minilm", action="store_true")
    args = parser.parse_args()
    from curate.text.normalize import content_text

    frame = records()
    texts = frame.select(content_text().alias("t"))["t"].to_list()
    sub = frame.head(args.subset)
    print(f"alpaca_random_9k: {len(texts)} records; MiniLM measured on the first {len(sub)}")

    print("\n1. encoder speed (record texts, max 128 tokens, nothing cached)")
    rates = {}
    for model, part in (("minilm", texts[: args.subset]), ("minilm-static", texts)):
        loaded, rate = texts_per_second(model, part)
        rates[model] = rate
        print(f"  {model:<14} load {loaded:5.1f}s  {rate:8.0f} texts/s  ({len(part)} texts)")
    print(f"  static / MiniLM: {rates['minilm-static'] / rates['minilm']:.0f}x")

    print(f"\n2. semantic dedup step on {len(sub)} records (fresh store, threshold 0.95)")
    for model in ("minilm", "minilm-static"):
        secs, dups = semantic_step(model, sub)
        print(f"  {model:<14} {secs:7.1f}s  {dups} duplicates")

    print("\n3. full default audit of alpaca_random_9k (fresh store), seconds by step")
    models = ["minilm-static", *(["minilm"] if args.full_minilm else [])]
    for model in models:
        timings = full_audit(model)
        steps = ", ".join(f"{k} {v:.1f}" for k, v in timings.items() if k != "total")
        print(f"  {model:<14} total {timings['total']:.1f}s: {steps}")


if __name__ == "__main__":
    main()
