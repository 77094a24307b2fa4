"""How long the lifecycle demo takes, stage by stage (the target: under 15 minutes on 2 cores).

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/demo_time.py [--synth-records 24]
[--synth-samples 2] [--out tunesmith-demo-bench] [--only-synthesis]``.

Without ``--only-synthesis`` it runs ``api.demo.run_demo`` (the whole lifecycle, as ``make demo``)
and prints each stage's seconds and the total. With it, it runs only the stages up to synthesis
(task, curation, rejection sampling) and prints those, with the verified counts: on a machine
shared with other work, time the later stages (``mine``, ``train`` (SFT), ``dpo`` (the short
DPO pass on the verified pairs), ``evaluate`` (suite, capability probes, perplexity)) in a quiet
moment and add them up. A rerun is served from the generation cache: use a fresh ``--home``
(``TUNESMITH_HOME``) to time a first run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUDGET_S = 15 * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--synth-records", type=int, default=None)
    parser.add_argument("--synth-samples", type=int, default=None)
    parser.add_argument("--synth-max-tokens", type=int, default=None)
    parser.add_argument("--out", default="tunesmith-demo-bench")
    parser.add_argument("--home", default=None, help="TUNESMITH_HOME for this run (its cache)")
    parser.add_argument("--only-synthesis", action="store_true")
    args = parser.parse_args()
    if args.home:
        os.environ["TUNESMITH_HOME"] = args.home
    from api.demo import load_demo_config, run_demo

    config = load_demo_config(
        out_dir=args.out,
        synth_records=args.synth_records,
        synth_samples=args.synth_samples,
        synth_max_tokens=args.synth_max_tokens,
    )
    if args.only_synthesis:
        timings, counts = synthesis_stages(config)
        print(f"verified: {counts}")
    else:
        timings = run_demo(config).timings
    total = sum(timings.values())
    print("\n| stage | seconds |\n|---|---|")
    for stage, seconds in timings.items():
        print(f"| {stage} | {seconds:.1f} |")
    print(f"| total | {total:.1f} (budget {BUDGET_S}) |")


def synthesis_stages(config) -> tuple[dict[str, float], dict]:
    """The demo's first three stages, timed: task, curation, verified synthesis."""
    import curate
    from api.demo import _config_file, _optional, _resolve, synthesize_verified

    out = _resolve(config.out_dir)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    train_path, pool_path = curate.build_habit_task(
        _resolve(config.data_dir) / config.source, out / "data", config
    )
    timings["task"] = time.perf_counter() - t
    store = curate.Store()
    try:
        t = time.perf_counter()
        with _config_file(_optional(config.curate_config), "demo", "curate.toml") as file:
            cfg = curate.CurateConfig.from_file(file)
        curate.run(train_path, cfg, out_dir=out / "curate", eval_set=pool_path, store=store)
        timings["curate"] = time.perf_counter() - t
        t = time.perf_counter()
        generator = curate.get_generator("transformers", config.model, store=store)
        counts, _ = synthesize_verified(
            out / "curate" / "curated.parquet", config, store, generator, out / "synth"
        )
        timings["synthesize"] = time.perf_counter() - t
    finally:
        store.close()
    return timings, counts


if __name__ == "__main__":
    main()
