"""The Ray executor against the local one on the same corpus: time, peak memory, same output.

Builds the benchmark corpus (``bench/corpus.py``: real sentences from ../shared/data, 10% exact
and 10% edited planted copies), writes it as prompt/completion JSONL shards, and runs
``tunesmith curate`` on the folder twice: the local executor, then ``--executor ray`` on a local
Ray instance with ``--cpus`` CPUs. By default only the steps that have a distributed form run
(exact and near dedup); ``--steps semantic`` adds semantic dedup (its embeddings computed by the
Ray Data actor pool under Ray), ``--steps all`` every step. Each run has its own store, so
neither finds the other's embeddings in the cache, and the Ray work folder is cleared first, so
nothing is resumed. Memory is sampled every 0.25 s for every process of each run (for Ray: the
driver, GCS, raylet and workers). Prints a Markdown table and whether the four output files
are byte-identical.

    .venv/bin/python bench/ray_scale.py --n 1000000 --cpus 2
    .venv/bin/python bench/ray_scale.py --n 20000 --cpus 2 --steps semantic
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
OUTPUTS = ("curated.parquet", "findings.parquet", "rejects.parquet", "report.json")


STEPS = {"dedup": ("exact", "near"), "semantic": ("exact", "near", "semantic"), "all": None}
"""The config sections each ``--steps`` choice leaves on (None: all of them)."""


def _config(folder: Path, cpus: int, steps: str) -> Path:
    from curate.pipeline.config import CurateConfig

    keep = STEPS[steps]
    lines = []
    for name, field in CurateConfig.model_fields.items():
        section = field.annotation
        if keep is None or name in keep:
            continue
        if "enabled" in getattr(section, "model_fields", {}):
            lines.append(f"[{name}]\nenabled = false\n")
    lines.append(f"[executor]\nnum_cpus = {cpus}\nobject_store_memory = 1_000_000_000\n")
    path = folder / "curate.toml"
    path.write_text("\n".join(lines))
    return path


def _measure(cmd: list[str], home: Path) -> dict[str, float]:
    """Run a command with its own store; wall seconds, peak RSS of its largest process and of
    all together (GB)."""
    start = time.perf_counter()
    env = {**os.environ, "TUNESMITH_HOME": str(home)}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    peaks: dict[int, int] = {}
    total = [0]
    done = threading.Event()

    def sample() -> None:
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                family = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            now = 0
            for p in family:
                try:
                    rss = p.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
                peaks[p.pid] = max(peaks.get(p.pid, 0), rss)
                now += rss
            total[0] = max(total[0], now)
            time.sleep(0.25)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    _, err = proc.communicate()
    done.set()
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed ({proc.returncode}): {err[-2000:]}")
    return {
        "seconds": time.perf_counter() - start,
        "max_process_gb": max(peaks.values()) / 1e9,
        "all_processes_gb": total[0] / 1e9,
        "processes": len(peaks),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/tunesmith_ray_scale"))
    parser.add_argument("--steps", choices=sorted(STEPS), default="dedup")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "bench"))
    import corpus

    args.work.mkdir(parents=True, exist_ok=True)
    shards = args.work / f"input-{args.n}"
    if not shards.is_dir():
        # prompt/completion JSONL shards, read by the CLI as a user's files are
        rows = corpus.build(args.n).select("prompt", "completion")
        shards.mkdir(parents=True)
        for i, lo in enumerate(range(0, args.n, 100_000)):
            rows.slice(lo, 100_000).write_ndjson(shards / f"part-{i:05d}.jsonl")
    config = _config(args.work, args.cpus, args.steps)
    cli = [
        sys.executable,
        "-c",
        "from api.cli import main; main()",
        "curate",
        str(shards),
        "--config",
        str(config),
    ]
    runs = {}
    for kind in ("local", "ray"):
        out = args.work / f"out-{kind}"
        extra = (
            ["--executor", "ray", "--work-dir", str(args.work / "ray-work")]
            if kind == "ray"
            else []
        )
        home = args.work / f"home-{kind}"
        shutil.rmtree(home, ignore_errors=True)  # a fresh store: no cached embeddings
        shutil.rmtree(args.work / "ray-work", ignore_errors=True)
        runs[kind] = _measure([*cli, "--out", str(out), *extra], home)
        print(kind, runs[kind], flush=True)
    same = {
        f: filecmp.cmp(args.work / "out-local" / f, args.work / "out-ray" / f, shallow=False)
        for f in OUTPUTS
    }
    which = {"dedup": "exact + near dedup", "semantic": "exact + near + semantic dedup"}
    print(
        f"\n{args.n:,} records, {which.get(args.steps, 'every step')}, {args.cpus} CPUs for Ray\n"
    )
    print(
        "| executor | wall s | records/s | peak RSS, largest process | peak RSS, all processes | processes |"
    )
    print("|---|---|---|---|---|---|")
    for kind, r in runs.items():
        print(
            f"| {kind} | {r['seconds']:.0f} | {args.n / r['seconds']:,.0f} | "
            f"{r['max_process_gb']:.2f} GB | {r['all_processes_gb']:.2f} GB | {r['processes']} |"
        )
    print(f"\nidentical outputs: {same}")


if __name__ == "__main__":
    main()
