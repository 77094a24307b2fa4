"""The whole audit's wall time, beside the MiniLM encoder alone on the same texts, in one run.

1. The full audit (``curate.run``) of a dataset (default ../shared/data/alpaca_random_9k.json)
   with every step on: exact, near and semantic dedup, quality, PII, tool calls, leakage (against
   alpaca_en_demo.json as the eval set), contradictions (same-prompt and semantic pairs), format,
   diversity, volatile facts and the verdict. A fresh store, so nothing is cached. The
   contradiction judge stays off: it needs a generator model and is off by default.
2. Baseline: the texts the audit sent to its embedder (recorded as it ran), encoded by MiniLM
   (sentence-transformers, batch 64, 128 tokens, as the audit would with ``model = "minilm"``).
   With ``--minilm-sample N`` only N of them are encoded and the time is scaled to all (labelled).
3. The semantic step's overhead over its encoder: the ``semantic_dedup`` step with a fresh
   embedder (no store) against the raw encoder on the same record texts, alternating, each
   ``--repeats`` times; the medians are compared.

    OMP_NUM_THREADS=2 .venv/bin/python bench/audit_speed.py [--data FILE] [--minilm-sample N]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def full_audit(path: Path, eval_path: Path) -> tuple[dict[str, float], float, list[str], int]:
    """Per-step seconds, wall seconds, the texts embedded, and the records audited."""
    from curate import CurateConfig, run
    from curate.models.embed import Embedder
    from curate.store.store import Store

    seen: list[str] = []
    encode_here = Embedder.encode_here

    def recording(self: Embedder, texts: list[str]):  # type: ignore[no-untyped-def]
        seen.extend(texts)
        return encode_here(self, texts)

    Embedder.encode_here = recording  # type: ignore[method-assign]
    config = CurateConfig()  # every step's default is on; leakage runs once given an eval set
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "s.duckdb")
            start = time.perf_counter()
            result = run(path, config, out_dir=Path(tmp) / "out", eval_set=eval_path, store=store)
            wall = time.perf_counter() - start
            store.close()
    finally:
        Embedder.encode_here = encode_here  # type: ignore[method-assign]
    return result.timings, wall, seen, result.n_records


def minilm_seconds(texts: list[str], sample: int | None) -> tuple[float, float, int]:
    """(load seconds, encode seconds for all texts, texts actually encoded)."""
    from curate.models.embed import load_encoder

    start = time.perf_counter()
    encoder = load_encoder("minilm")
    loaded = time.perf_counter() - start
    part = texts if not sample or sample >= len(texts) else texts[:: len(texts) // sample][:sample]
    start = time.perf_counter()
    encoder.encode(part, 64, 128)
    secs = time.perf_counter() - start
    return loaded, secs * len(texts) / max(len(part), 1), len(part)


def semantic_overhead(path: Path, repeats: int) -> tuple[list[float], list[float], int]:
    """(raw static encoder seconds, semantic step seconds) of each repeat, and the records.

    The two alternate, so machine load falls on both alike; each step run has a fresh embedder
    (no store, nothing remembered)."""
    from curate.dedup.semantic import SemanticConfig, SemanticDedup
    from curate.io.read import read_dataset
    from curate.models.embed import Embedder, load_encoder
    from curate.text.normalize import content_text

    records = read_dataset(path).records
    texts = records.select(content_text().alias("t"))["t"].to_list()
    cfg = SemanticConfig()
    encoder = load_encoder(cfg.model)
    encoder.encode(texts[:100], cfg.batch_size, cfg.max_tokens)  # warm: loaded, tokenizer ready
    step = SemanticDedup(cfg, embed=Embedder(cfg.model, None, max_tokens=cfg.max_tokens))
    step.run(records.head(50))  # warm: the step's imports (scipy, ...), once per process
    raws, steps = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        encoder.encode(list(dict.fromkeys(texts)), cfg.batch_size, cfg.max_tokens)
        raws.append(time.perf_counter() - start)
        step.embed = Embedder(cfg.model, None, max_tokens=cfg.max_tokens)  # nothing remembered
        start = time.perf_counter()
        step.run(records)
        steps.append(time.perf_counter() - start)
    return raws, steps, len(records)


def main() -> None:
    """Run the three measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA / "alpaca_random_9k.json")
    parser.add_argument("--eval", type=Path, default=DATA / "alpaca_en_demo.json")
    parser.add_argument("--minilm-sample", type=int, default=None)
    parser.add_argument("--skip-minilm", action="store_true")
    parser.add_argument("--repeats", type=int, default=5, help="overhead repeats (alternating)")
    args = parser.parse_args()

    timings, wall, seen, n = full_audit(args.data, args.eval)
    distinct = list(dict.fromkeys(seen))
    print(f"## full audit of {args.data.name}: {n:,} records, every step on (fresh store)\n")
    print("| step | seconds |")
    print("|---|---:|")
    for step, secs in timings.items():
        if step != "total":
            print(f"| {step} | {secs:.1f} |")
    print(f"| **total (curate.run wall)** | **{wall:.1f}** |")
    print(f"\npeak RSS after the audit: {_peak_mb():,.0f} MB")
    print(f"texts sent to the embedder: {len(seen):,} ({len(distinct):,} distinct)")

    if not args.skip_minilm:
        loaded, secs, done = minilm_seconds(distinct, args.minilm_sample)
        how = "measured" if done == len(distinct) else f"scaled from {done:,} of them"
        print(
            f"\nbaseline, MiniLM encoder alone on the same {len(distinct):,} texts: "
            f"{secs:.1f} s ({how}) + {loaded:.1f} s load; audit / MiniLM-alone = "
            f"{wall / (secs + loaded):.2f}"
        )

    raws, steps, records = semantic_overhead(args.data, args.repeats)
    print(
        f"\n## semantic step overhead over the raw encoder ({records:,} records, "
        f"{len(raws)} alternating repeats)\n\n"
        "| repeat | raw static encoder | semantic_dedup step | overhead |\n|---:|---:|---:|---:|"
    )
    for k, (raw, step_s) in enumerate(zip(raws, steps, strict=True)):
        print(f"| {k + 1} | {raw:.2f} s | {step_s:.2f} s | {100 * (step_s - raw) / raw:+.0f}% |")
    raw, step_s = statistics.median(raws), statistics.median(steps)
    print(f"| **median** | {raw:.2f} s | {step_s:.2f} s | **{100 * (step_s - raw) / raw:+.0f}%** |")


if __name__ == "__main__":
    main()
