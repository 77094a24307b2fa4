"""Format and tone profiles of answers, and the step that flags answers off their task's format.

Fine-tuning teaches habits: if one task's examples answer in JSON half the time and in prose the
other half, the model learns to pick at random. Each answer gets a profile (JSON and its keys,
markdown structure, length bucket, person, formality, language, refusal); answers are grouped
into *tasks* by clustering their instructions (prompt embeddings when the pipeline gives an
embedder, TF-IDF of the instruction otherwise), and an answer whose format differs from its
task's dominant format is flagged, as is a task with no dominant format.

Formats come in two families of strength. A *hard* difference (JSON, code or a table against
text, or JSON with other keys) is drift whenever the task has a dominant format. A difference in
markdown structure only (a numbered list among paragraphs) is flagged only where the task is
near-unanimous (``structure_dominance``): "Generate five tips" is rightly answered either way.
An answer in the format its own prompt asks for ("as a JSON object", "list five ...", "write a
function") is never a deviant.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from curate.audit.cluster_terms import top_terms
from curate.pipeline.step import Finding, StepResult, findings_frame
from curate.records import text_of

Embed = Callable[[list[str]], np.ndarray]

_HEADER = re.compile(r"^#{1,6}\s+\S", re.M)
_BULLET = re.compile(r"^\s*(?:[-*•+]|\d{1,3}[.)])\s+\S", re.M)
_TABLE = re.compile(r"^\s*\|.*\|\s*$", re.M)
_FENCE = re.compile(r"^\s*(```|~~~)", re.M)
# Unfenced code: lines that open like a statement of a common language. An assignment alone
# ("x = 5", "Total = 18") is also how worked arithmetic reads, so unfenced code needs at least
# one line that only code has (a keyword statement or an opening brace).
_STRONG_CODE = (
    r"^\s*(?:def |class |import |from \S+ import|function |#include|public |private |var |let |"
    r"const |return\b|SELECT |CREATE TABLE|(?:for|while|if|elif|else)\b[^\n]*:\s*$|"
    r"(?:for|while|if)\s*\()|\{\s*$"
)
_CODE_LINE = re.compile(_STRONG_CODE + r"|^\s*[A-Za-z_][\w.\[\]]*\s*[-+*/]?=\s*\S", re.M)
_STRONG_CODE_LINE = re.compile(_STRONG_CODE, re.M)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.U)
_REFUSAL = re.compile(
    r"\b(as an ai\b|i(?: am|'m) (?:sorry|unable|not able)|i can(?:not|'t) (?:help|provide|"
    r"answer|do|assist|generate|create)|i do not have (?:access|the ability)|"
    r"this (?:task|instruction) (?:cannot|can't) be)",
    re.I,
)
_CONTRACTION = re.compile(r"\b\w+'(?:s|re|ll|ve|d|m|t)\b", re.I)
_INFORMAL = re.compile(r"(!{2,}|\b(?:lol|gonna|wanna|hey|cool|awesome|yeah|ok|okay)\b)", re.I)
_FIRST = {"i", "me", "my", "mine", "we", "us", "our", "ours"}
_SECOND = {"you", "your", "yours", "yourself"}

# A few function words per language: enough to tell the common languages of instruction sets
# apart without a model (answers are short; scripts settle the rest). They identify a language;
# they are not stop words to drop from a comparison (that list is curate.text.stopwords).
_LANGUAGE_MARKERS = {
    "en": {"the", "and", "is", "of", "to", "in", "that", "it", "for", "with", "are", "this"},
    "es": {"el", "la", "de", "que", "y", "en", "los", "las", "es", "por", "una", "para"},
    "fr": {"le", "la", "les", "et", "est", "des", "une", "que", "pour", "dans", "pas", "du"},
    "de": {"der", "die", "und", "das", "ist", "nicht", "ein", "eine", "zu", "mit", "den", "ich"},
    "pt": {"o", "os", "de", "que", "e", "do", "da", "em", "um", "uma", "para", "não"},
    "it": {"il", "di", "che", "e", "la", "per", "un", "una", "sono", "non", "gli", "della"},
}
_SCRIPTS = (
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
)
LENGTH_BUCKETS = ((0, "empty"), (1, "short"), (20, "medium"), (100, "long"), (400, "very long"))
"""Word-count lower bounds of the length buckets."""


@dataclass(frozen=True)
class AnswerProfile:
    """What an answer looks like, independently of what it says."""

    is_json: bool
    json_keys: tuple[str, ...]
    headers: bool
    lists: bool
    code: bool
    table: bool
    length_bucket: str
    person: str
    formality: str
    language: str
    refusal: bool

    @cached_property
    def format(self) -> str:
        """The coarse format signature compared within a task: json, code, table, list, ..."""
        if self.is_json:
            return "json"
        parts = [
            name
            for name, on in (
                ("headers", self.headers),
                ("code", self.code),
                ("table", self.table),
                ("list", self.lists),
            )
            if on
        ]
        return "+".join(parts) or "prose"


def _json_keys(text: str) -> tuple[bool, tuple[str, ...]]:
    body = text.strip()
    if body.startswith("```"):  # a fenced JSON block only, e.g. ```json ... ```
        body = re.sub(r"^```\w*\s*|\s*```$", "", body)
    if not body or body[0] not in "[{":
        return False, ()
    try:
        value = json.loads(body)
    except ValueError:
        return False, ()
    if isinstance(value, list) and value and isinstance(value[0], dict):
        value = value[0]
    keys = tuple(sorted(value)) if isinstance(value, dict) else ()
    return True, keys


def detect_language(text: str) -> str:
    """A best-effort language code (``en``, ``es``, ``zh``, ...) or ``und`` when unsure."""
    for code, pattern in _SCRIPTS:
        if len(pattern.findall(text)) >= max(2, len(text) // 20):
            return code
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < 4:
        return "und"
    counts = Counter(words)  # each language's marker words looked up once, not every word
    scores = {code: sum(counts[w] for w in stop) for code, stop in _LANGUAGE_MARKERS.items()}
    best = max(scores, key=lambda c: (scores[c], c == "en"))
    return best if scores[best] >= 2 else "und"


def length_bucket(n_words: int) -> str:
    """The length bucket of an answer of ``n_words`` words."""
    name = "empty"
    for bound, label in LENGTH_BUCKETS:
        if n_words >= bound:
            name = label
    return name


@lru_cache(maxsize=1 << 16)
def profile(text: str) -> AnswerProfile:
    """Profile one answer's format and tone (cached: dedup's conflict guard asks it of the same
    answer once per candidate pair it is in)."""
    is_json, keys = _json_keys(text)
    code = not is_json and (
        bool(_FENCE.search(text))
        or (len(_CODE_LINE.findall(text)) >= 2 and bool(_STRONG_CODE_LINE.search(text)))
    )
    words = [w.lower() for w in _WORD.findall(text)]
    first = sum(w in _FIRST for w in words)
    second = sum(w in _SECOND for w in words)
    person = "first" if first > second else "second" if second else "third"
    informal = len(_INFORMAL.findall(text)) + len(_CONTRACTION.findall(text))
    formality = "informal" if informal >= max(2, len(words) // 40) else "formal"
    return AnswerProfile(
        is_json=is_json,
        json_keys=keys,
        headers=bool(_HEADER.search(text)) and not (is_json or code),
        lists=len(_BULLET.findall(text)) >= 2 and not (is_json or code),
        code=code,
        table=len(_TABLE.findall(text)) >= 2,
        length_bucket=length_bucket(len(text.split())),
        person=person,
        formality=formality,
        language=detect_language(text),
        refusal=bool(_REFUSAL.search(text)),
    )


FAMILIES = ("json", "code", "table")
"""Formats whose difference from text is *hard* drift; the rest (prose, lists, headers) differ
in markdown structure only."""

_REQUESTS = {
    "json": re.compile(r"\bjson\b", re.I),
    "code": re.compile(
        r"\b(?:code|function|program|script|snippet|class|method|implement\w*|algorithm|sql|"
        r"query|regex|regular expression|python|javascript|java|html|css|c\+\+|bash|shell|"
        r"pseudo-?code|syntax|compile\w*|(?:for |while )?loop|formula|excel|typescript|"
        r"node\.?js|web ?page|website|database|postgres\w*|api|command line|terminal|"
        r"programming|automate)\b",
        re.I,
    ),
    "table": re.compile(r"\b(?:table|tabular|spreadsheet|csv|markdown)\b", re.I),
    "list": re.compile(
        r"\b(?:list|lists|steps?|bullet\w*|enumerate|outline|itemi[sz]e|top \d+|ways|tips|"
        r"reasons|ideas|examples|items|points|things|questions|suggestions|options|"
        r"(?:two|three|four|five|six|seven|eight|nine|ten|\d+)\s+(?:\w+\s+){0,3}?\w+s)\b",
        re.I,
    ),
    "headers": re.compile(r"\b(?:sections?|headings?|outline|article|report|guide|plan)\b", re.I),
}


@lru_cache(maxsize=256)
def family(fmt: str) -> str:
    """The family of a format signature: ``json``, ``code``, ``table`` or ``text``."""
    return next((f for f in FAMILIES if f in fmt.split("+")), "text")


def requested(prompt: str) -> frozenset[str]:
    """The formats a prompt asks for in words ("as JSON", "list five", "write a function")."""
    return frozenset(name for name, pattern in _REQUESTS.items() if pattern.search(prompt))


def fits_request(fmt: str, prompt: str) -> bool:
    """Whether an answer's format is one its prompt asks for (then it is no deviant): named in
    words, or code answering a prompt that holds code itself."""
    asked = requested(prompt)
    if "code" in fmt.split("+") and profile(prompt).code:
        return True
    return bool(asked & set(fmt.split("+"))) or ("list" in asked and "headers" in fmt)


def format_conflict(
    a: AnswerProfile, b: AnswerProfile, set_format: str | None = None
) -> str | None:
    """How two answers' formats differ: ``hard``, ``structure`` or None (alike).

    ``hard``: different families (JSON, code, table, text) or JSON with different keys.
    ``structure``: text answers with different markdown structure (list against paragraph),
    counted only where the set has a dominant format that one of them follows (``set_format``;
    None: unknown, every structural difference counts).
    """
    if family(a.format) != family(b.format) or a.json_keys != b.json_keys:
        return "hard"
    if a.format == b.format:
        return None
    if set_format is None or set_format in (a.format, b.format):
        return "structure"
    return None


def dominant_format(formats: list[str], dominance: float = 0.6) -> str:
    """The format at least ``dominance`` of the answers share, or ``mixed``."""
    if not formats:
        return "mixed"
    top, n = Counter(formats).most_common(1)[0]
    return top if n / len(formats) >= dominance else "mixed"


SET_FORMAT_SAMPLE = 2_000
"""Answers (evenly spaced over the set) profiled to find the set's dominant format."""


def set_format(answers: list[str], sample: int = SET_FORMAT_SAMPLE) -> str:
    """The format most of a set's answers share, from an evenly spaced sample of them, or
    ``mixed`` (what dedup's format guard and the contradiction step compare structure with)."""
    step = max(1, len(answers) // sample)
    return dominant_format([profile(a).format for a in answers[::step]])


def instruction(row: dict) -> str:
    """The task statement of a record row: the first line of its first user turn (the input
    text below it is what the task is about, not what task it is)."""
    users = [m for m in row["prompt"] or [] if m["role"] == "user"]
    text = (users[0]["content"] if users else text_of(row["prompt"])) or ""
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    return " ".join(first.split()[:40])


class FormatConfig(BaseModel):
    """Format and tone consistency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    """Run the format profile step."""
    task_size: int = Field(30, ge=2)
    """Mean answers per task cluster: instructions are clustered into ``n / task_size`` tasks
    (k-means over prompt embeddings, or over TF-IDF of the instructions without an embedder)."""
    max_tasks: int = Field(300, ge=1)
    """At most this many task clusters, whatever the set's size."""
    min_task_size: int = Field(15, ge=2)
    """Tasks with fewer answers are profiled but not judged."""
    dominance: float = Field(0.6, gt=0.5, le=1.0)
    """Share of a task's answers one format (or, failing that, one family: text answered as
    prose and lists alike) must reach to be its dominant format; an answer in another family
    (JSON, code, table, text) is flagged ``format_deviant``; a task where neither reaches it is
    listed as having no dominant format."""
    structure_dominance: float = Field(0.9, gt=0.5, le=1.0)
    """Share the dominant format must reach before an answer differing from it in markdown
    structure only (a list among paragraphs) is flagged: list and prose are both right for
    most open requests, so only a near-unanimous task makes the odd one drift."""
    max_tasks_reported: int = Field(30, ge=1)
    """How many of the largest tasks the report lists with their distributions."""
    seed: int = 0
    """Seed of the task clustering (reruns agree)."""


def answer_text(row: dict) -> str:
    """The answer of a record row: the completion (the last assistant turn of a conversation,
    the judged answer of a KTO row), or the chosen side of a preference pair."""
    return text_of(row["chosen"] if row["kind"] == "preference" else row["completion"])


def answers_text(row: dict) -> str:
    """Every assistant turn of a record row, in order: a multi-turn conversation's earlier
    answers, then its last one (or the chosen side of a preference pair)."""
    earlier = [m for m in row["prompt"] or [] if m["role"] == "assistant"]
    return "\n\n".join(p for p in (text_of(earlier), answer_text(row)) if p)


def prompt_text(row: dict) -> str:
    """The user turns of a record row, first to last (the first states the task; a later
    "thanks, and shorter?" is not what the set is about)."""
    users = [m for m in row["prompt"] or [] if m["role"] == "user"]
    return text_of(users) if users else text_of(row["prompt"])


class TaskFormats(BaseModel):
    """One task's answers: their formats, languages and formality."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: str
    """The task cluster's name: its instructions' commonest leading word and two
    characteristic words (``generate: list, books``)."""
    size: int
    """Answers of the task."""
    dominant: str | None
    """The format at least ``dominance`` of them share (None: no dominant format)."""
    dominant_share: float
    """The share of the most common format."""
    formats: dict[str, int]
    """Answers per format, most common first."""
    languages: dict[str, int]
    """Answers per language, the three most common."""
    formality: dict[str, int]
    """Answers per formality (``formal``, ``informal``)."""


class UndecidedTask(BaseModel):
    """A judged task where no format reaches the dominance share."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: str
    """The task cluster's name."""
    size: int
    """Answers of the task."""
    formats: dict[str, int]
    """Answers per format."""


class FormatFigures(BaseModel):
    """The format and tone profile of the answers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_answers: int
    """Answers profiled (one per record)."""
    formats: dict[str, int]
    """Answers per format signature (``prose``, ``list``, ``json``, ...), most common first."""
    length_buckets: dict[str, int]
    """Answers per length bucket, most common first."""
    person: dict[str, int]
    """Answers per grammatical person, most common first."""
    formality: dict[str, int]
    """Answers per formality, most common first."""
    languages: dict[str, int]
    """Answers per detected language, most common first."""
    refusals: int
    """Answers that read as refusals."""
    json_answers: int
    """Answers that are JSON."""
    tasks: list[TaskFormats]
    """The largest tasks (up to ``max_tasks_reported``), largest first."""
    n_tasks: int
    """Task clusters found."""
    n_tasks_judged: int
    """Tasks of at least ``min_task_size`` answers, whose answers were judged."""
    task_clustering: str = "one task"
    """How instructions were grouped into tasks: ``embeddings``, ``tf-idf``, or ``one task``
    (a set too small to split)."""
    no_dominant_format: list[UndecidedTask]
    """Judged tasks with no dominant format."""
    deviants: int
    """Answers off their task's dominant format (findings)."""
    min_task_size: int
    """The configured ``min_task_size``."""
    dominance: float
    """The configured ``dominance``."""
    structure_dominance: float = 0.9
    """The configured ``structure_dominance``."""


class FormatProfile:
    """The step: profile every answer, cluster instructions into tasks, find each task's
    dominant format, flag deviants."""

    name = "format"

    def __init__(self, config: FormatConfig | None = None, *, embed: Embed | None = None) -> None:
        """Args:
        config: thresholds.
        embed: texts -> L2-normalised embeddings, to cluster instructions into tasks (None:
            TF-IDF of the instructions).
        """
        self.config = config or FormatConfig()
        self.embed = embed

    def run(self, records: pl.DataFrame) -> StepResult[FormatFigures]:
        """Profile the answers; ``format_deviant`` (review) findings for off-format answers."""
        cfg = self.config
        rows = list(
            records.select("id", "row", "kind", "prompt", "completion", "chosen").iter_rows(
                named=True
            )
        )
        profiles = [profile(answer_text(r)) for r in rows]
        asks = [instruction(r) for r in rows]
        labels, source = self._tasks(asks)
        names = task_names(asks, labels)
        tasks: dict[str, list[int]] = {}
        for i, label in enumerate(labels.tolist()):
            tasks.setdefault(names[label], []).append(i)
        findings: list[Finding] = []
        task_table = []
        no_dominant = []
        for task, members in sorted(tasks.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            formats = Counter(profiles[i].format for i in members)
            top, top_n = formats.most_common(1)[0]
            share = top_n / len(members)
            judged = len(members) >= cfg.min_task_size
            dominant = top if share >= cfg.dominance else None
            # a task answered in prose and lists alike is still a text task: JSON there drifts
            families = Counter(family(profiles[i].format) for i in members)
            top_family, family_n = families.most_common(1)[0]
            text_task = dominant is None and family_n / len(members) >= cfg.dominance
            if judged and dominant is None and not text_task:
                no_dominant.append(
                    UndecidedTask(task=task, size=len(members), formats=dict(formats))
                )
            if judged and (dominant is not None or text_task):
                at = share if dominant is not None else family_n / len(members)
                found = _deviants(
                    rows, profiles, asks, members, task, dominant or top_family, at, cfg
                )
                findings += found
            task_table.append(
                TaskFormats(
                    task=task,
                    size=len(members),
                    dominant=dominant,
                    dominant_share=round(share, 3),
                    formats=dict(formats.most_common()),
                    languages=dict(Counter(profiles[i].language for i in members).most_common(3)),
                    formality=dict(Counter(profiles[i].formality for i in members)),
                )
            )
        figures = FormatFigures(
            n_answers=len(rows),
            formats=dict(Counter(p.format for p in profiles).most_common()),
            length_buckets=dict(Counter(p.length_bucket for p in profiles).most_common()),
            person=dict(Counter(p.person for p in profiles).most_common()),
            formality=dict(Counter(p.formality for p in profiles).most_common()),
            languages=dict(Counter(p.language for p in profiles).most_common()),
            refusals=sum(p.refusal for p in profiles),
            json_answers=sum(p.is_json for p in profiles),
            tasks=task_table[: cfg.max_tasks_reported],
            n_tasks=len(tasks),
            n_tasks_judged=sum(len(m) >= cfg.min_task_size for m in tasks.values()),
            task_clustering=source,
            no_dominant_format=no_dominant,
            deviants=len(findings),
            min_task_size=cfg.min_task_size,
            dominance=cfg.dominance,
            structure_dominance=cfg.structure_dominance,
        )
        return StepResult(findings=findings_frame(findings), figures=figures)

    def _tasks(self, asks: list[str]) -> tuple[np.ndarray, str]:
        """A task label per instruction, and how they were clustered."""
        cfg = self.config
        k = max(1, min(cfg.max_tasks, round(len(asks) / cfg.task_size)))
        if k == 1 or len(asks) < 2 * cfg.min_task_size:
            return np.zeros(len(asks), dtype=np.int64), "one task"
        if self.embed is not None:
            vectors: Any = np.asarray(self.embed(asks), dtype=np.float64)
            source = "embeddings"
        else:
            vectors, source = lexical_vectors(asks), "tf-idf"
        return cluster(vectors, k, cfg.seed), source


def lexical_vectors(texts: list[str]) -> Any:
    """L2-normalised TF-IDF rows (words and word pairs) of short texts, a sparse matrix
    (k-means runs on it as it is: a reduction by SVD cost more than the clustering)."""
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=2 if len(texts) >= 50 else 1,
        token_pattern=r"(?u)\b[^\W\d_]{2,}\b",
    )
    try:
        return tfidf.fit_transform(texts)
    except ValueError:  # no words at all (empty instructions)
        return csr_matrix((len(texts), 1))


def cluster(vectors: Any, k: int, seed: int = 0) -> np.ndarray:
    """k-means labels of the rows (dense or sparse; mini-batch past 20,000 rows), fixed seed."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    k = min(k, vectors.shape[0])
    if vectors.shape[0] > 20_000:
        model = MiniBatchKMeans(k, random_state=seed, n_init=1, batch_size=4096)
    else:
        model = KMeans(k, random_state=seed, n_init=1)
    return model.fit(vectors).labels_.astype(np.int64)


def task_names(asks: list[str], labels: np.ndarray) -> list[str]:
    """A readable, unique name per task label: the commonest leading word of its instructions
    and its two most characteristic words (``generate: list, books``)."""
    k = int(labels.max()) + 1 if len(labels) else 0
    leads: list[Counter[str]] = [Counter() for _ in range(k)]
    for ask, label in zip(asks, labels.tolist(), strict=True):
        words = _WORD.findall(ask)
        leads[label][words[0].lower() if words else ""] += 1
    terms = top_terms(asks, labels, k, 3) if k > 1 else [[] for _ in range(k)]
    names: list[str] = []
    for lead, words in zip(leads, terms, strict=True):
        first = lead.most_common(1)[0][0] if lead else ""
        rest = [w for w in words if w != first][:2]
        name = f"{first}: {', '.join(rest)}" if rest else first
        while name in names:
            name += "'"
        names.append(name)
    return names


def _deviants(rows, profiles, asks, members, task, dominant, share, cfg) -> list[Finding]:
    keys = Counter(profiles[i].json_keys for i in members if profiles[i].is_json)
    dominant_keys = keys.most_common(1)[0][0] if dominant == "json" and keys else None
    out = []
    for i in members:
        p = profiles[i]
        if p.format != dominant:
            hard = family(p.format) != family(dominant)
            if not hard and (share < cfg.structure_dominance or dominant == "text"):
                continue  # list among paragraphs of an open task: both are right
            if fits_request(p.format, prompt_text(rows[i])):
                continue  # the prompt asked for this format
            reason = "format_deviant"
            evidence: dict = {"format": p.format, "difference": "hard" if hard else "structure"}
        elif dominant_keys is not None and p.json_keys != dominant_keys:
            reason, evidence = (
                "json_keys_deviant",
                {"keys": list(p.json_keys), "dominant_keys": list(dominant_keys)},
            )
        else:
            continue
        evidence |= {
            "task": task,
            "dominant": dominant,
            "dominant_share": round(share, 3),
            "task_size": len(members),
        }
        out.append(
            Finding(
                record_id=rows[i]["id"],
                row=rows[i]["row"],
                check="format",
                severity="review",
                reason=reason,
                evidence=evidence,
            )
        )
    return out


def profile_dict(text: str) -> dict:
    """The profile of an answer as a plain dict (with its format signature), for reports."""
    p = profile(text)
    return {**asdict(p), "json_keys": list(p.json_keys), "format": p.format}
