"""One curation step under cProfile, on the records that reach it in a full audit.

The steps before it run first (default config) and their ``drop`` findings are applied, as
``curate.run`` does, so the step sees what it sees in a real audit; those steps are not timed.
The embedder is warmed on the step's prompts and record texts first (a run's shared embedder
has usually embedded them by then), so the figure is the step's own work. Prints the step's
seconds, its figures, a digest of its findings (to compare two versions of the code) and the
functions that took the most time.

    OMP_NUM_THREADS=2 .venv/bin/python bench/step_profile.py FILE [--step contradictions]
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    """Run the steps before ``--step``, then the step under the profiler, and print."""
    from curate.io.read import read_dataset
    from curate.pipeline.config import CurateConfig
    from curate.pipeline.run import build_steps
    from curate.pipeline.step import run_steps
    from curate.records import text_of
    from curate.text.normalize import content_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--step", default="contradictions")
    parser.add_argument("--top", type=int, default=20, help="functions printed")
    args = parser.parse_args()

    records = read_dataset(args.data).records
    steps = build_steps(CurateConfig())
    names = [s.name for s in steps]
    if args.step not in names:
        raise SystemExit(f"--step: one of {', '.join(names)}")
    at = names.index(args.step)
    kept = run_steps(records, steps[:at]).kept
    step = steps[at]
    embed = getattr(step, "embed", None)
    if embed is not None:
        embed([text_of(p) for p in kept["prompt"].to_list()])
        embed(kept.select(content_text().alias("t"))["t"].to_list())
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    result = step.run(kept)
    profile.disable()
    seconds = time.perf_counter() - start
    findings = result.findings.sort(["record_id", "check", "reason"])
    digest = hashlib.sha256(findings.write_csv().encode()).hexdigest()[:16]
    print(f"{args.step}: {seconds:.2f} s on {len(kept):,} records (of {len(records):,})")
    print(f"findings: {len(findings):,}, sha256 of the sorted frame {digest}")
    print(f"figures: {result.figures.model_dump_json(exclude={'pairs'})[:1200]}\n")
    pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
