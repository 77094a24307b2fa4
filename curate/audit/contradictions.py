"""The contradiction step: the same question answered in conflicting ways.

Candidate pairs are records whose prompts are the same after normalisation, or semantic
neighbours (cosine of prompt embeddings at or over a threshold, with the same numbers in both
prompts so that "3 apples" and "5 apples" are different questions). Pairs whose answers agree
are left alone; the rest are classified by ``curate.audit.answer_conflicts.compare``: different
final answers, or different formats (the same content as prose and as JSON: dedup keeps such
pairs apart so that they arrive here, reported as ``conflicting_format`` with both sides; a
list against a paragraph counts where the set has a dominant format). Conflicting pairs are
grouped into conflict clusters; in each, the answer held by the majority is proposed as the side
to keep (or the judge's pick where the vote ties). Nothing is deleted by default: findings are
``review`` unless ``drop_proposed`` is set.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Callable, Iterator

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from curate.audit.answer_conflicts import OPEN_ENDED, Conflict, compare, entities
from curate.audit.format_profile import answer_text, set_format
from curate.audit.judge import ContradictionJudgeConfig, Judge, JudgeVerdict
from curate.dedup.pairs import SearchPath, pairs_above, search_path
from curate.models.generation import Generator
from curate.pipeline.step import Finding, StepResult, findings_frame
from curate.records import text_of
from curate.text.normalize import messages_text, normalize_expr

Embed = Callable[[list[str]], np.ndarray]
_DIGITS = re.compile(r"\d+(?:\.\d+)?")


class ContradictionsConfig(BaseModel):
    """Contradictions between answers to the same or neighbouring prompts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    """Run the contradiction step."""
    semantic: bool = True
    """Also pair prompts that are semantic neighbours (needs embeddings), not only equal ones."""
    prompt_similarity: float = Field(0.85, gt=0.0, le=1.0)
    """Cosine similarity of prompt embeddings at which two prompts ask the same thing."""
    exhaustive_max: int = Field(60_000, ge=1)
    """Records up to which every pair of prompts is compared exactly; above it, neighbours are
    found through the approximate index (``curate.dedup.ann``), where it starts to pay. Measured
    on the scale corpus at 0.85, two threads (``bench/contradiction_ann.py``): exact against the
    index took 8.8 s against 8.5 s at 60,000 prompts, 18.1 s against 13.3 s at 80,000 and 26.4 s
    against 20.2 s at 100,000, with pair recall 0.9997 to 0.9998 and no pair added."""
    neighbours: int = Field(32, ge=1)
    """Neighbours asked for per prompt on the approximate path (doubled while they all pass)."""
    max_group: int = Field(50, ge=2)
    """Prompts shared by more records than this are paired only within their first max_group."""
    label_words: int = Field(4, ge=1)
    """Answers of at most this many words are compared as labels."""
    entity_words: int = Field(30, ge=1)
    """Answers of at most this many words are compared by their named entities."""
    divergent_below: float = Field(0.3, ge=0.0, le=1.0)
    """Content-word Jaccard of two answers under which an unresolved pair is ``divergent``."""
    same_above: float = Field(0.7, ge=0.0, le=1.0)
    """Content-word Jaccard at or over which two answers count as the same answer."""
    open_ended_words: tuple[str, ...] = OPEN_ENDED
    """Leading words of open-ended prompts (``write``, ``generate``, ...): their answers are
    compared by format only, since two different poems do not contradict each other."""
    drop_proposed: bool = False
    """Drop the records proposed for removal (minority side) instead of flagging for review."""
    max_pairs_reported: int = Field(100, ge=0)
    """Pairs kept in the report's figures (findings hold them all)."""
    judge: ContradictionJudgeConfig = ContradictionJudgeConfig()
    """The optional LLM judge (off unless a backend is named)."""


VIA = ("same_prompt", "semantic_prompt")
"""How a candidate pair was found; ``candidate_pairs`` gives each pair's index into this."""

_CHUNK = 65_536
"""Candidate pairs turned into Python values at a time (there may be millions)."""


def candidate_pairs(
    keys: list[str],
    prompts: list[str],
    embeddings: np.ndarray | None,
    cfg: ContradictionsConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index pairs (i < j) of prompts asking the same thing, with how they were found.

    ``keys`` are the normalised prompts (``curate.text.normalize``, as exact dedup uses): equal keys
    are ``same_prompt`` (within the first ``max_group`` records of a key); embedding neighbours
    ``semantic_prompt``. The embeddings are L2-normalised rows; the pairs at or over
    ``prompt_similarity`` are found exactly up to ``exhaustive_max`` prompts and through the
    approximate index above it (``curate.dedup.pairs.pairs_above``). Pairs are arrays, not
    Python objects: a set whose prompts repeat has millions of them.

    The pairs come in the order the step compares them: the same-prompt pairs key by key (each
    answer is in many pairs of its key, and its features are remembered while the key's pairs
    are compared), then the neighbour pairs sorted by ``(left, right)``.

    Returns:
        ``(left, right, via)``: int64 arrays with ``left < right``, and each pair's index
        into ``VIA``.
    """
    frame = pl.DataFrame({"key": keys}, schema={"key": pl.String}).with_row_index("i")
    groups = (
        frame.group_by("key")
        .agg(pl.col("i").head(cfg.max_group))
        .filter(pl.col("i").list.len() >= 2)["i"]
    )
    lefts, rights = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for size in groups.list.len().unique().sort().to_list():
        # each row one key's members, in record order: its pairs are the upper triangle
        members = np.array(groups.filter(groups.list.len() == size).to_list(), dtype=np.int64)
        upper, lower = np.triu_indices(size, 1)
        lefts.append(members[:, upper].ravel())
        rights.append(members[:, lower].ravel())
    same = sum(len(x) for x in lefts)
    if embeddings is not None and cfg.semantic and len(prompts) >= 2:
        near_left, near_right = pairs_above(
            embeddings,
            cfg.prompt_similarity,
            exhaustive_max=cfg.exhaustive_max,
            neighbours=cfg.neighbours,
        )
        near_left, near_right = _semantic(keys, prompts, near_left, near_right, cfg.max_group)
        lefts.append(near_left)
        rights.append(near_right)
    left, right = np.concatenate(lefts), np.concatenate(rights)
    via = np.zeros(len(left), dtype=np.int8)
    via[same:] = 1
    return left, right, via


def _semantic(
    keys: list[str], prompts: list[str], left: np.ndarray, right: np.ndarray, max_group: int
) -> tuple[np.ndarray, np.ndarray]:
    """The neighbour pairs that are not already ``same_prompt`` pairs and whose prompts share
    their numbers and names (``_anchors``)."""
    seen: dict[str, int] = {}
    rank = []  # each record's place among the records of its key
    for key in keys:
        rank.append(seen.get(key, 0))
        seen[key] = rank[-1] + 1
    anchors: dict[int, tuple] = {}

    def anchor(i: int) -> tuple:
        if i not in anchors:
            anchors[i] = _anchors(prompts[i])
        return anchors[i]

    keep = [
        not (keys[i] == keys[j] and rank[i] < max_group and rank[j] < max_group)
        and anchor(i) == anchor(j)
        for i, j in zip(left.tolist(), right.tolist(), strict=True)
    ]
    mask = np.array(keep, dtype=bool)
    return left[mask].astype(np.int64), right[mask].astype(np.int64)


def _anchors(prompt: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """What two neighbouring prompts must share to ask the same thing: numbers and names
    ("3 apples" vs "5 apples", "a trip to London" vs "a trip to Paris" are different questions).
    """
    names = {n.lower() for n in entities(prompt)}
    # a short input line ("Tomato", "The Matrix") is what the instruction is about
    names |= {ln.strip(" .").lower() for ln in prompt.splitlines()[1:] if 0 < len(ln.split()) <= 4}
    return tuple(_DIGITS.findall(prompt)), frozenset(names)


class PairSide(BaseModel):
    """One record of a reported pair."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    """The record's id."""
    row: int | None
    """Its row in the source file."""
    answer: str
    """The start of its answer (1,200 characters)."""
    span: str
    """What its answer says (final answer, label, format or opening words)."""
    proposal: str | None
    """``keep``, ``remove`` or ``undecided`` when the pair is in a conflict cluster."""


class ConflictPair(BaseModel):
    """One candidate pair whose answers differ, as the report shows it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    """How the answers differ (``number``, ``label``, ``format``, ``divergent``, ...)."""
    via: str
    """How the pair was found: ``same_prompt`` or ``semantic_prompt``."""
    prompt: str
    """The start of the first record's prompt (600 characters)."""
    a: PairSide
    """The first record."""
    b: PairSide
    """The second record."""
    judge: JudgeVerdict | None
    """The judge's verdict on the pair, when it judged it."""


class JudgeFigures(BaseModel):
    """What the judge did."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    """The judge model."""
    judged_pairs: int
    """Pairs it gave a verdict on."""
    calls: int
    """Generation calls, retries included."""
    unparseable: int
    """Pairs whose replies never parsed (left undecided)."""


class ContradictionsFigures(BaseModel):
    """What the contradiction step found."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    candidate_pairs: int
    """Pairs of records asking the same thing."""
    candidates_by_source: dict[str, int]
    """Candidate pairs by how they were found (``same_prompt``, ``semantic_prompt``)."""
    pairs_by_kind: dict[str, int]
    """Candidate pairs whose answers differ, by kind."""
    conflicting_pairs: int
    """Pairs confirmed as conflicts (divergent pairs only when the judge says so)."""
    divergent_unjudged: int
    """Divergent pairs no judge looked at."""
    conflict_clusters: int
    """Clusters of records joined by conflicting pairs."""
    records_in_conflict: int
    """Records in a conflict cluster."""
    proposals: dict[str, int]
    """Records in conflict by proposal (``keep``, ``remove``, ``undecided``)."""
    judge: JudgeFigures | None
    """What the judge did (None without a judge)."""
    pairs: list[ConflictPair]
    """The differing pairs (extracted conflicts first), up to ``max_pairs_reported``."""
    prompt_similarity: float
    """The prompt-embedding cosine threshold used."""
    path: SearchPath
    """How prompt neighbours were searched: every pair, or the approximate index."""


class Contradictions:
    """The step: find conflicting answers to the same question and propose a side to keep."""

    name = "contradictions"

    def __init__(
        self,
        config: ContradictionsConfig | None = None,
        *,
        embed: Embed | None = None,
        generator: Generator | None = None,
    ) -> None:
        """Args:
        config: thresholds and policy.
        embed: texts -> L2-normalised embeddings, for semantic neighbours (None: exact only).
        generator: a judge model for divergent pairs and tied clusters (None: no judge).
        """
        self.config = config or ContradictionsConfig()
        self.embed = embed
        self.judge = Judge(generator, self.config.judge) if generator is not None else None

    def run(self, records: pl.DataFrame) -> StepResult[ContradictionsFigures]:
        """Pairs, conflicts, clusters and proposals; one finding per record in a conflict."""
        cfg = self.config
        rows = list(
            records.select("id", "row", "kind", "prompt", "completion", "chosen").iter_rows(
                named=True
            )
        )
        prompts = [text_of(r["prompt"]) for r in rows]
        answers = [answer_text(r) for r in rows]
        embeddings = self.embed(prompts) if self.embed and cfg.semantic and rows else None
        keys = records.select(normalize_expr(messages_text("prompt")))[:, 0].to_list()
        left, right, via = candidate_pairs(keys, prompts, embeddings, cfg)
        dominant = set_format(answers) if len(left) else None
        conflicts: dict[tuple[int, int], tuple[Conflict, str]] = {}
        by_kind: Counter[str] = Counter()
        # A divergent pair is no conflict until a judge says so: the first ones (in (i, j)
        # order) are all a judge and the report's pairs ever read, the rest are only counted.
        divergent_kept = cfg.max_pairs_reported + (self.judge.config.max_pairs if self.judge else 0)
        divergent: list[tuple[int, int, Conflict, str]] = []  # a heap of the first: (-i, -j, ...)
        for (i, j), how in _pairs(left, right, via):
            c = compare(
                answers[i],
                answers[j],
                prompts[i],
                label_words=cfg.label_words,
                entity_words=cfg.entity_words,
                divergent_below=cfg.divergent_below,
                same_above=cfg.same_above,
                open_words=cfg.open_ended_words,
                set_format=dominant,
            )
            if c is None:
                continue
            by_kind[c.kind] += 1
            if c.kind != "divergent":
                conflicts[(i, j)] = (c, how)
            elif len(divergent) < divergent_kept:
                heapq.heappush(divergent, (-i, -j, c, how))
            elif divergent_kept and (-i, -j) > divergent[0][:2]:
                heapq.heapreplace(divergent, (-i, -j, c, how))
        conflicts.update(((-i, -j), (c, how)) for i, j, c, how in divergent)
        judged = self._judge(conflicts, prompts, answers)
        confirmed = {
            p: v
            for p, v in conflicts.items()
            if v[0].kind != "divergent" or (judged.get(p) and judged[p].contradict)
        }
        clusters = _clusters(list(confirmed))
        findings, proposals = self._findings(rows, confirmed, clusters, judged)
        figures = ContradictionsFigures(
            candidate_pairs=len(left),
            candidates_by_source={
                how: n
                for how, n in zip(VIA, np.bincount(via, minlength=2).tolist(), strict=True)
                if n
            },
            pairs_by_kind=dict(sorted(by_kind.items())),
            conflicting_pairs=len(confirmed),
            divergent_unjudged=by_kind["divergent"]
            - sum(1 for p, (c, _) in conflicts.items() if c.kind == "divergent" and p in judged),
            conflict_clusters=len(clusters),
            records_in_conflict=sum(len(c) for c in clusters),
            proposals=dict(Counter(proposals.values())),
            judge=None
            if self.judge is None
            else JudgeFigures(
                model=self.judge.config.model,
                judged_pairs=len(judged),
                calls=self.judge.calls,
                unparseable=self.judge.failures,
            ),
            pairs=[
                _pair_figure(rows, prompts, answers, p, conflicts[p], judged.get(p), proposals)
                for p in sorted(conflicts, key=lambda p: (conflicts[p][0].kind == "divergent", p))[
                    : cfg.max_pairs_reported
                ]
            ],
            prompt_similarity=cfg.prompt_similarity,
            path=search_path(len(rows), cfg.exhaustive_max),
        )
        return StepResult(findings=findings_frame(findings), figures=figures)

    def _judge(self, conflicts, prompts, answers) -> dict:
        if self.judge is None or not conflicts:
            return {}
        # divergent pairs first (only the judge can decide them), then the extracted conflicts
        order = sorted(conflicts, key=lambda p: (conflicts[p][0].kind != "divergent", p))
        chosen = order[: self.judge.config.max_pairs]
        verdicts = self.judge.judge([(prompts[i], answers[i], answers[j]) for i, j in chosen])
        return {p: v for p, v in zip(chosen, verdicts, strict=True) if v is not None}

    def _findings(self, rows, confirmed, clusters, judged) -> tuple[list[Finding], dict]:
        proposals: dict[int, str] = {}
        findings = []
        by_member: dict[int, list[tuple[int, int]]] = {}
        for pair in sorted(confirmed):  # each record's pairs, so clusters cost their own size
            for i in pair:
                by_member.setdefault(i, []).append(pair)
        for members in clusters:
            cid = "conflict:" + min(rows[i]["id"] for i in members)
            votes = _votes(members, confirmed, by_member)
            for i, proposal in _propose(members, votes, confirmed, judged).items():
                proposals[i] = proposal
                pairs = [
                    {
                        "other_id": rows[b if a == i else a]["id"],
                        "kind": c.kind,
                        "via": how,
                        "span": c.span_a if a == i else c.span_b,
                        "other_span": c.span_b if a == i else c.span_a,
                    }
                    for (a, b) in by_member[i]
                    for c, how in [confirmed[(a, b)]]
                ]
                kinds = {p["kind"] for p in pairs}
                reason = (
                    "conflicting_format"
                    if kinds == {"format"}
                    else "judged_contradiction"
                    if kinds == {"divergent"}
                    else "conflicting_answer"
                )
                severity = (
                    "drop" if self.config.drop_proposed and proposal == "remove" else "review"
                )
                findings.append(
                    Finding(
                        record_id=rows[i]["id"],
                        row=rows[i]["row"],
                        check="contradictions",
                        severity=severity,
                        reason=reason,
                        cluster_id=cid,
                        evidence={"proposal": proposal, "answer": votes.get(i), "pairs": pairs},
                    )
                )
        return findings, proposals


def _pairs(left: np.ndarray, right: np.ndarray, via: np.ndarray) -> Iterator:
    """``((i, j), how)`` for each candidate pair, in order, a chunk at a time."""
    for lo in range(0, len(left), _CHUNK):
        part = slice(lo, lo + _CHUNK)
        for i, j, v in zip(
            left[part].tolist(), right[part].tolist(), via[part].tolist(), strict=True
        ):
            yield (i, j), VIA[v]


def _clusters(pairs: list[tuple[int, int]]) -> list[list[int]]:
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[find(a)] = find(b)
    groups: dict[int, list[int]] = {}
    for x in sorted(parent):
        groups.setdefault(find(x), []).append(x)
    return sorted(groups.values())


def _votes(members: list[int], confirmed: dict, by_member: dict) -> dict[int, str]:
    """Each member's comparable answer value, from the first pair it takes part in."""
    votes: dict[int, str] = {}
    for i in members:
        a, b = by_member[i][0]
        c = confirmed[(a, b)][0]
        votes[i] = c.value_a if a == i else c.value_b
    return votes


def _propose(members, votes, confirmed, judged) -> dict[int, str]:
    """keep / remove / undecided per member: the strict majority answer, else the judge."""
    counts = Counter(votes[i] for i in members)
    ranked = counts.most_common()
    if len(ranked) > 1 and ranked[0][1] > ranked[1][1]:
        return {i: "keep" if votes[i] == ranked[0][0] else "remove" for i in members}
    if len(members) == 2:
        pair = (min(members), max(members))
        verdict = judged.get(pair)
        if verdict is not None and verdict.contradict and verdict.keep != "neither":
            keep = pair[0] if verdict.keep == "A" else pair[1]
            return {i: "keep" if i == keep else "remove" for i in members}
    return dict.fromkeys(members, "undecided")


def _pair_figure(rows, prompts, answers, pair, conflict_how, verdict, proposals) -> ConflictPair:
    (i, j), (c, how) = pair, conflict_how
    return ConflictPair(
        kind=c.kind,
        via=how,
        prompt=prompts[i][:600],
        a=PairSide(
            id=rows[i]["id"],
            row=rows[i]["row"],
            answer=answers[i][:1200],
            span=c.span_a,
            proposal=proposals.get(i),
        ),
        b=PairSide(
            id=rows[j]["id"],
            row=rows[j]["row"],
            answer=answers[j][:1200],
            span=c.span_b,
            proposal=proposals.get(j),
        ),
        judge=verdict,
    )
