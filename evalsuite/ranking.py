"""Rank candidate bases on the user's own suite: every candidate answers the same cases (and the
capability probes), each pair is compared with the same paired statistics as ``eval compare``,
each candidate's cost is measured on this hardware (parameters, generated tokens per second,
peak memory), and a recommendation names the best score for the cost and where a smaller model
is statistically as good (non-inferior by a stated margin).

Each candidate runs in a child process, so its peak memory is its own and one model is loaded at
a time; its run is saved under ``<out>/<candidate>/`` like ``eval run`` writes it.

    result = rank("data/suites/json_format.yaml", ["smollm2-135m", "gemma3-270m"], out_dir="rank")
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from itertools import combinations
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from curate import InputError
from evalsuite.compare import ALL, compare
from evalsuite.run import EvalConfig, load_run

THROUGHPUT_PROMPTS = 8
"""Prompts (the suite's first) answered uncached to measure generation speed."""
THROUGHPUT_TOKENS = 64
"""New tokens per throughput prompt."""


class Cost(BaseModel):
    """What a candidate costs to run here."""

    model_config = ConfigDict(frozen=True)

    parameters: int | None
    """Parameters (from the weights' headers), None where the weights are not local."""
    tokens_per_s: float | None
    """Generated tokens per second, greedy, one batch of the suite's first prompts, uncached."""
    peak_rss_mb: float
    """Peak resident memory of the candidate's process, in MiB."""


class Candidate(BaseModel):
    """One candidate: a model, with an adapter or not."""

    model_config = ConfigDict(frozen=True)

    name: str
    """A short name for reports and folders."""
    model: str
    """The model alias, folder or hub id."""
    adapter: str | None = None
    """A LoRA adapter folder, for ranking tuned variants of one base."""

    @classmethod
    def parse(cls, spec: str) -> Candidate:
        """``MODEL`` or ``MODEL@ADAPTER`` (a name is derived from both)."""
        model, _, adapter = spec.partition("@")
        if not model:
            raise InputError(f"candidate {spec!r}: expected MODEL or MODEL@ADAPTER")
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(model).name)
        if adapter:
            name += "+" + re.sub(r"[^A-Za-z0-9._-]+", "-", Path(adapter).name)
        return cls(name=name, model=model, adapter=adapter or None)


class Standing(BaseModel):
    """A candidate's scores and cost."""

    model_config = ConfigDict(frozen=True)

    candidate: Candidate
    scores: dict[str, float]
    """Mean of each metric on the target suite (``all``) and per probe slice (``m@slice``)."""
    cost: Cost


class PairwiseResult(BaseModel):
    """One pair of candidates on the primary metric: ``b - a`` with its paired interval."""

    model_config = ConfigDict(frozen=True)

    a: str
    b: str
    metric: str
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int


class RankResult(BaseModel):
    """Every candidate's standing, the pairwise comparisons and the recommendation."""

    model_config = ConfigDict(frozen=True)

    suite: str
    metric: str
    """The primary metric (``pass`` on the target suite by default)."""
    margin: float
    """A candidate within this of the best (its interval's lower bound) is as good."""
    standings: list[Standing]
    """Best primary score first."""
    pairwise: list[PairwiseResult]
    recommendation: str
    """The candidate recommended."""
    reasons: list[str] = Field(default_factory=list)
    """Why, in plain words."""


def rank(
    suite: str | Path,
    candidates: list[str] | list[Candidate],
    *,
    out_dir: str | Path,
    config: EvalConfig | None = None,
    metric: str = "pass",
    margin: float = 0.05,
) -> RankResult:
    """Run every candidate on the suite (and ``config.probes``), compare and recommend.

    Raises:
        InputError: fewer than two candidates, or two with the same name.
    """
    parsed = [c if isinstance(c, Candidate) else Candidate.parse(c) for c in candidates]
    if len(parsed) < 2:
        raise InputError("rank needs at least two candidates")
    names = [c.name for c in parsed]
    if len(set(names)) != len(names):
        raise InputError(f"candidate names repeat: {names}")
    config = config or EvalConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    standings, runs = [], {}
    for cand in parsed:
        folder = out / cand.name
        cost = _run_child(suite, cand, config, folder)
        run = load_run(folder)
        runs[cand.name] = run
        standings.append(Standing(candidate=cand, scores=_scores(run), cost=cost))
    pairwise = []
    for a, b in combinations(names, 2):
        comparison = compare(runs[a], runs[b], force=True)
        delta = next(d for d in comparison.deltas if d.metric == metric and d.slice == ALL)
        t = delta.test
        pairwise.append(
            PairwiseResult(
                a=a,
                b=b,
                metric=metric,
                delta=t.delta,
                ci_low=t.ci_low,
                ci_high=t.ci_high,
                p_value=t.p_value,
                n=t.n,
            )
        )
    standings.sort(key=lambda s: (-s.scores.get(metric, 0.0), s.cost.parameters or 0))
    recommendation, reasons = _recommend(standings, pairwise, metric, margin)
    result = RankResult(
        suite=str(suite),
        metric=metric,
        margin=margin,
        standings=standings,
        pairwise=pairwise,
        recommendation=recommendation,
        reasons=reasons,
    )
    write_rank(result, out)
    return result


def _scores(run: Any) -> dict[str, float]:
    sums: dict[str, list[float]] = {}
    for case in run.cases:
        probe_tags = [t for t in case.tags if t.startswith("probe:") and t.count(":") == 1]
        for name, value in case.metrics.items():
            keys = [f"{name}@{t}" for t in probe_tags] if probe_tags else [name]
            for key in keys:
                sums.setdefault(key, []).append(value)
    return {k: round(sum(v) / len(v), 4) for k, v in sorted(sums.items())}


def _recommend(
    standings: list[Standing], pairwise: list[PairwiseResult], metric: str, margin: float
) -> tuple[str, list[str]]:
    """The smallest candidate non-inferior to the best by ``margin``, else the best."""
    best = standings[0]
    reasons = [f"{best.candidate.name} has the best {metric}: {best.scores.get(metric, 0.0):.3f}"]

    def versus(other: str) -> PairwiseResult:
        for p in pairwise:
            if {p.a, p.b} == {best.candidate.name, other}:
                if p.a == best.candidate.name:
                    return p
                return p.model_copy(
                    update={
                        "a": p.b,
                        "b": p.a,
                        "delta": -p.delta,
                        "ci_low": -p.ci_high,
                        "ci_high": -p.ci_low,
                    }
                )
        raise KeyError(other)

    smaller = [
        s
        for s in standings[1:]
        if s.cost.parameters is not None
        and best.cost.parameters is not None
        and s.cost.parameters < best.cost.parameters
    ]
    for s in sorted(smaller, key=lambda s: s.cost.parameters or 0):
        p = versus(s.candidate.name)  # delta = other - best
        if p.ci_low > -margin:
            reasons.append(
                f"{s.candidate.name} ({_millions(s.cost.parameters)} parameters against "
                f"{_millions(best.cost.parameters)}) is statistically as good: its {metric} is "
                f"{p.delta:+.3f} from the best, 95% interval [{p.ci_low:+.3f}, {p.ci_high:+.3f}], "
                f"within the margin {margin} (n={p.n})"
            )
            return s.candidate.name, reasons
        reasons.append(
            f"{s.candidate.name} is smaller but not shown as good: {p.delta:+.3f}, interval "
            f"[{p.ci_low:+.3f}, {p.ci_high:+.3f}] reaches below -{margin}"
        )
    return best.candidate.name, reasons


def _millions(n: int | None) -> str:
    return "?" if n is None else f"{n / 1e6:.0f}M"


def _run_child(suite: str | Path, cand: Candidate, config: EvalConfig, folder: Path) -> Cost:
    """Run one candidate in a child process; its run lands in ``folder``, its cost returned."""
    folder.mkdir(parents=True, exist_ok=True)
    request = {
        "suite": str(suite),
        "candidate": cand.model_dump(),
        "config": config.model_dump(mode="json"),
        "folder": str(folder),
    }
    (folder / "rank_request.json").write_text(json.dumps(request))
    code = "from evalsuite.ranking import child_main; child_main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, str(folder / "rank_request.json")],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise InputError(
            f"candidate {cand.name} ({cand.model}) failed to run: "
            f"{(proc.stderr.strip().splitlines() or ['no output'])[-1]}"
        )
    return Cost.model_validate_json((folder / "cost.json").read_text())


def child_main() -> None:
    """The child process: run the suite, measure throughput and peak memory, write both."""
    import resource
    import time

    from curate import SamplingParams, Store, get_generator
    from evalsuite.run import run, save_run
    from evalsuite.suite import load_suite

    request = json.loads(Path(sys.argv[1]).read_text())
    cand = Candidate.model_validate(request["candidate"])
    config = EvalConfig.model_validate(request["config"])
    folder = Path(request["folder"])
    suite = load_suite(request["suite"])
    with Store() as store:
        gen = get_generator(
            config.backend,
            cand.model,
            base_url=config.base_url,
            store=store,
            **config.backend_options,
        )
        result = run(
            suite, cand.model, adapter=cand.adapter, config=config, generator=gen, store=store
        )
    save_run(result, folder)
    fresh = get_generator(
        config.backend, cand.model, base_url=config.base_url, **config.backend_options
    )
    chats = [c.messages for c in suite.cases[:THROUGHPUT_PROMPTS]]
    params = SamplingParams(temperature=0.0, max_tokens=THROUGHPUT_TOKENS)
    started = time.perf_counter()
    outputs = fresh.generate(chats, params, cand.adapter)
    elapsed = time.perf_counter() - started
    tokens = _count_tokens(cand.model, [o.text for o in outputs])
    cost = Cost(
        parameters=parameter_count(cand.model),
        tokens_per_s=round(tokens / elapsed, 2) if tokens and elapsed > 0 else None,
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    (folder / "cost.json").write_text(cost.model_dump_json(indent=2))


def _local_folder(model: str) -> Path | None:
    from curate import resolve_model

    try:
        path = Path(resolve_model(model))
    except Exception:  # a hub id or a served name: no local weights to read
        return None
    return path if path.is_dir() else None


def _count_tokens(model: str, texts: list[str]) -> int | None:
    folder = _local_folder(model)
    if folder is None or not (folder / "tokenizer_config.json").is_file():
        return None
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder))
    return sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts)


def parameter_count(model: str) -> int | None:
    """Parameters of a local model, read from its safetensors headers (no weights loaded)."""
    folder = _local_folder(model)
    if folder is None:
        return None
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for file in files:
        with open(file, "rb") as f:
            size = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(size))
        for name, info in header.items():
            if name == "__metadata__":
                continue
            n = 1
            for dim in info["shape"]:
                n *= dim
            total += n
    return total


def write_rank(result: RankResult, out: Path) -> None:
    """``rank.json``, ``rank.md`` and ``rank.html`` in ``out``."""
    (out / "rank.json").write_text(result.model_dump_json(indent=2) + "\n")
    (out / "rank.md").write_text(render_markdown(result))
    (out / "rank.html").write_text(render_html(result))


def _rows(result: RankResult) -> tuple[list[str], list[list[str]]]:
    keys = sorted(
        {k for s in result.standings for k in s.scores if k.split("@")[0] == result.metric}
    )
    head = ["candidate", *keys, "parameters", "tokens/s", "peak MiB"]
    rows = [
        [
            s.candidate.name,
            *(f"{s.scores[k]:.3f}" if k in s.scores else "" for k in keys),
            _millions(s.cost.parameters),
            "" if s.cost.tokens_per_s is None else f"{s.cost.tokens_per_s:.1f}",
            f"{s.cost.peak_rss_mb:.0f}",
        ]
        for s in result.standings
    ]
    return head, rows


def render_markdown(result: RankResult) -> str:
    """The ranking as Markdown."""
    head, rows = _rows(result)
    lines = [
        f"# Base ranking on {Path(result.suite).name}",
        "",
        f"**Recommended: {result.recommendation}**",
        "",
        *[f"- {r}" for r in result.reasons],
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *["| " + " | ".join(r) + " |" for r in rows],
        "",
        f"## Pairwise ({result.metric}, b - a, paired 95% interval)",
        "",
        "| a | b | delta | interval | p | n |",
        "|---|---|---|---|---|---|",
        *[
            f"| {p.a} | {p.b} | {p.delta:+.3f} | [{p.ci_low:+.3f}, {p.ci_high:+.3f}] | "
            f"{p.p_value:.3g} | {p.n} |"
            for p in result.pairwise
        ],
        "",
    ]
    return "\n".join(lines)


def render_html(result: RankResult) -> str:
    """The ranking as a self-contained HTML page."""
    from html import escape

    head, rows = _rows(result)
    table = "<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"
    for r in rows:
        table += "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>"
    table += "</table>"
    pairs = (
        "<table><tr><th>a</th><th>b</th><th>delta</th><th>interval</th><th>p</th><th>n</th></tr>"
    )
    for p in result.pairwise:
        pairs += (
            f"<tr><td>{escape(p.a)}</td><td>{escape(p.b)}</td><td>{p.delta:+.3f}</td>"
            f"<td>[{p.ci_low:+.3f}, {p.ci_high:+.3f}]</td><td>{p.p_value:.3g}</td><td>{p.n}</td></tr>"
        )
    pairs += "</table>"
    reasons = "".join(f"<li>{escape(r)}</li>" for r in result.reasons)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Base ranking</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;"
        "padding:4px 8px}table{border-collapse:collapse;margin:1em 0}</style></head><body>"
        f"<h1>Base ranking on {escape(Path(result.suite).name)}</h1>"
        f"<p><b>Recommended: {escape(result.recommendation)}</b></p><ul>{reasons}</ul>"
        f"{table}<h2>Pairwise ({escape(result.metric)}, b - a)</h2>{pairs}</body></html>"
    )
