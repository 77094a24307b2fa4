"""The Ray executor against the local one on the same corpus: time, peak memory, same output.

Builds the benchmark corpus (``bench/corpus.py``: real sentences from ../shared/data, 10% exact
and 10% edited planted copies), writes it as Parquet shards, and runs ``tunesmith curate`` on
the folder twice: the local executor, then ``--executor ray`` on a local Ray instance with
``--cpus`` CPUs. Only the steps that have a distributed form run (exact and near dedup); the
others would run on the driver under both executors alike. Memory is sampled every 0.25 s for
every process of each run (for Ray: the driver, GCS, raylet and workers). Prints a Markdown
table and whether the four output files are byte-identical.

    .venv/bin/python bench/ray_scale.py --n 1000000 --cpus 2
"""

from __future__ import annotations

import argparse
import filecmp
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
OUTPUTS = ("curated.parquet", "findings.parquet", "rejects.parquet", "report.json")


def _config(folder: Path, cpus: int) -> Path:
    from curate.pipeline.config import CurateConfig

    lines = []
    for name, field in CurateConfig.model_fields.items():
        section = field.annotation
        if name not in ("exact", "near") and "enabled" in getattr(section, "model_fields", {}):
            lines.append(f"[{name}]\nenabled = false\n")
    lines.append(f"[executor]\nnum_cpus = {cpus}\nobject_store_memory = 1_000_000_000\n")
    path = folder / "curate.toml"
    path.write_text("\n".join(lines))
    return path


def _measure(cmd: list[str]) -> dict[str, float]:
    """Run a command; wall seconds, peak RSS of its largest process and of all together (GB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
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
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "bench"))
    import corpus

    import curate

    args.work.mkdir(parents=True, exist_ok=True)
    shards = args.work / f"input-{args.n}"
    if not shards.is_dir():
        records = corpus.to_records(corpus.build(args.n))
        curate.write_shards(records, shards, rows_per_shard=100_000)
    config = _config(args.work, args.cpus)
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
        runs[kind] = _measure([*cli, "--out", str(out), *extra])
        print(kind, runs[kind], flush=True)
    same = {
        f: filecmp.cmp(args.work / "out-local" / f, args.work / "out-ray" / f, shallow=False)
        for f in OUTPUTS
    }
    print(f"\n{args.n:,} records, exact + near dedup, {args.cpus} CPUs for Ray\n")
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
