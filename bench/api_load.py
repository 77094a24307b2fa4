"""Load on the REST API from a second process over loopback: N concurrent clients listing jobs
and polling a job's status, first with the worker idle (baseline), then while a curation job
runs on the 9k Alpaca set. Prints p50/p95/p99/max latency, errors and throughput per phase.

    .venv/bin/python bench/api_load.py [--clients 100] [--seconds 30] [--interval 0.25]

Each client loops: GET /v1/jobs?limit=20, then GET /v1/jobs/{id}, sleeping ``--interval``
seconds between requests (a polling client; 0 = as fast as it can). Target on the 2-core
machine: 0 errors and p99 under 100 ms for these status reads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "alpaca_random_9k.json"
sys.path.insert(0, str(ROOT))

from api.client import Client  # noqa: E402
from tests.api.conftest import Server, new_key  # noqa: E402


async def _client(
    url: str,
    key: str,
    job_id: str,
    until: float,
    interval: float,
    latencies: list[float],
    errors: list[str],
    health: bool = False,
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as http:
        paths = ["/health"] * 2 if health else ["/v1/jobs?limit=20", f"/v1/jobs/{job_id}"]
        i = 0
        while time.monotonic() < until:
            start = time.perf_counter()
            try:
                r = await http.get(paths[i % 2])
                if r.status_code != 200:
                    errors.append(f"HTTP {r.status_code}")
            except httpx.HTTPError as e:
                errors.append(type(e).__name__)
            latencies.append(time.perf_counter() - start)
            i += 1
            if interval:
                await asyncio.sleep(interval)


async def _phase(
    url: str,
    key: str,
    job_id: str,
    clients: int,
    seconds: float,
    interval: float,
    health: bool = False,
) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[str] = []
    until = time.monotonic() + seconds
    await asyncio.gather(
        *(
            _client(url, key, job_id, until, interval, latencies, errors, health)
            for _ in range(clients)
        )
    )
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100)
    return {
        "requests": len(ms),
        "errors": len(errors),
        "rps": round(len(ms) / seconds, 1),
        "p50_ms": round(q[49], 1),
        "p95_ms": round(q[94], 1),
        "p99_ms": round(q[98], 1),
        "max_ms": round(ms[-1], 1),
    }


def _server_cpu_ms(server: Server, key: str, path: str, n: int = 300) -> float:
    """Server CPU per request (from /proc), sequential requests: a figure that does not depend
    on how busy the rest of the machine is."""

    def cpu() -> float:
        fields = Path(f"/proc/{server.proc.pid}/stat").read_text().split()  # type: ignore[union-attr]
        return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")

    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as http:
        for _ in range(20):
            http.get(path)
        before = cpu()
        for _ in range(n):
            http.get(path).raise_for_status()
        return round((cpu() - before) / n * 1000, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--interval", type=float, default=0.25)
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="tunesmith-load-")) / "home"
    home.mkdir()
    key = new_key(home, "load")
    server = Server(home, ["--jobs", "curate=1"]).start()
    try:
        with Client(server.url, key) as c:
            dataset = c.upload_dataset(DATA)
            # the first job finishes quickly (no embedding steps): a job to poll, and some history
            no_embeddings = {
                k: {"enabled": False} for k in ("semantic", "contradictions", "diversity")
            }
            quick = c.submit({"type": "curate", "dataset_id": dataset.id, "config": no_embeddings})
            c.wait(quick.id, timeout=600)
            cost = {
                p: _server_cpu_ms(server, key, p)
                for p in ("/health", f"/v1/jobs/{quick.id}", "/v1/jobs?limit=20")
            }
            health = asyncio.run(
                _phase(server.url, key, "", args.clients, args.seconds, args.interval, health=True)
            )
            base = asyncio.run(
                _phase(server.url, key, quick.id, args.clients, args.seconds, args.interval)
            )
            # a full curation (semantic dedup embeds 9k texts): runs for minutes on this CPU
            busy = c.submit({"type": "curate", "dataset_id": dataset.id})
            while c.get_job(busy.id).state != "running":
                time.sleep(0.2)
            loaded = asyncio.run(
                _phase(server.url, key, busy.id, args.clients, args.seconds, args.interval)
            )
            still = c.get_job(busy.id).state
            c.cancel(busy.id)
    finally:
        server.stop()
    report = {
        "clients": args.clients,
        "seconds": args.seconds,
        "interval_s": args.interval,
        "cpus": os.cpu_count(),
        "load_avg_1m": os.getloadavg()[0],
        "server_cpu_ms_per_request": cost,
        "health_only": health,
        "idle_worker": base,
        "during_curation": loaded,
        "curation_state_at_end": still,
    }
    print(json.dumps(report, indent=2))
    print()
    print("| phase | requests | req/s | errors | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    phases = (
        ("GET /health only (baseline)", health),
        ("job reads, worker idle", base),
        ("job reads, curation running", loaded),
    )
    for name, r in phases:
        print(
            f"| {name} | {r['requests']} | {r['rps']} | {r['errors']} | {r['p50_ms']} | "
            f"{r['p95_ms']} | {r['p99_ms']} | {r['max_ms']} |"
        )
    subprocess.run(["rm", "-rf", str(home.parent)], check=False)


if __name__ == "__main__":
    main()
