"""Do two answers to the same question conflict? Pure text logic, no model.

An answer's *final answer* is extracted when it has one: a yes/no, a multiple-choice letter, a
number (``curate.text.answers.stated_number``: after an answer marker such as ``A:``, ``####``
or ``the answer is``, or the only number of a short answer), a short label, or the named
entities of a short answer. Two answers whose final answers differ conflict; two whose final
answers agree do not, however differently they are worded. When neither says anything
comparable, formats are compared (``curate.audit.format_profile.format_conflict``: JSON, code or
a table against text and different JSON keys always; a list against a paragraph where the set's
dominant format is one of them), and answers that still share few words are ``divergent``: only
a judge can tell whether they contradict. A *hard* format difference is a conflict even when the
two answers say the same thing: the set then teaches two formats for one request.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cached_property, lru_cache

from curate.audit.format_profile import AnswerProfile, format_conflict, profile
from curate.text.answers import FinalNumber, stated_number
from curate.text.stopwords import STOP_WORDS

KINDS = ("yes_no", "choice", "number", "label", "entity", "format", "divergent")
"""Pair kinds, strongest evidence first; all but ``divergent`` are conflicts on their own."""

_YES_NO = re.compile(
    r"^\W*(yes|no|true|false|correct|incorrect)\b|\b(?:answer|it) is:?\s*\W?(yes|no|true|false)\b",
    re.I,
)
_POLARITY = {
    "yes": True,
    "true": True,
    "correct": True,
    "no": False,
    "false": False,
    "incorrect": False,
}
_CHOICE = re.compile(
    r"^\W*?(?:\(([A-E])\)|([A-E])(?:[.)]|\s*$))|"
    r"\b(?:answer|option|choice) (?:is )?:?\s*\(?([A-E])\b\)?"
)
_QUANTITY_QUESTION = re.compile(
    r"\bhow (?:many|much|long|far|old|fast|often)\b|\bwhat (?:is|was|will be) the "
    r"(?:total|number|sum|difference|product|cost|price|value|amount|area|average|percentage)\b|"
    r"^\s*(?:calculate|compute|solve|evaluate)\b",
    re.I | re.M,
)
_CAPS = re.compile(r"\b[A-Z][\w'.-]*(?:\s+(?:of|the|de|van|von)?\s*[A-Z][\w'.-]*)*")
_WORDS = re.compile(r"\w+", re.U)
_PLACEHOLDER = re.compile(
    r"^\W*(?:no\s*-?\s*(?:output|input|answer)|n/?a|none|null|empty)\W*$", re.I
)
OPEN_ENDED = (
    "generate",
    "create",
    "write",
    "compose",
    "design",
    "invent",
    "imagine",
    "brainstorm",
    "suggest",
    "come",
    "make",
    "draft",
    "develop",
    "propose",
    "name",
    "give",
    "provide",
    "list",
    "tell",
    "think",
    "construct",
    "produce",
    "describe",
)
"""Leading words of prompts with many right answers: only their formats are compared."""
_OPEN_HINT = re.compile(r"\b(?:example|random|ideas?|creative|story|poem|haiku)\b", re.I)


@dataclass(frozen=True)
class Conflict:
    """How two answers differ: the kind and the span of each answer that shows it."""

    kind: str
    """One of ``KINDS``."""
    span_a: str
    """What answer A says (its final answer, format or opening words)."""
    span_b: str
    """What answer B says."""
    value_a: str
    """A's comparable value (normalised), used to group a cluster's members by answer."""
    value_b: str


@lru_cache(maxsize=1 << 16)
def normalize(text: str) -> str:
    """NFKC, case-folded, punctuation-free, single-spaced text (cached: a pair check asks it of
    the same answer once per pair the answer is in)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def words(text: str) -> frozenset[str]:
    """The content words of a text (lower-cased, stop words out)."""
    return frozenset(w for w in _WORDS.findall(text.lower()) if w not in STOP_WORDS)


def jaccard(a: AbstractSet[str], b: AbstractSet[str]) -> float:
    """Jaccard similarity of two sets (1.0 for two empty sets)."""
    return len(a & b) / len(a | b) if a | b else 1.0


def yes_no(answer: str) -> tuple[str, bool] | None:
    """A leading (or stated) yes/no/true/false and its span."""
    m = _YES_NO.search(answer[:200])
    if not m:
        return None
    word = (m.group(1) or m.group(2)).lower()
    return m.group(0).strip(), _POLARITY[word]


def choice(answer: str) -> tuple[str, str] | None:
    """A multiple-choice letter (``(B)``, ``Option C``) and its span."""
    m = _CHOICE.search(answer[:200])
    if not m:
        return None
    letter = next(g for g in m.groups() if g)
    return m.group(0).strip(), letter.upper()


def entities(answer: str, prompt: str = "", *, initial: bool = False) -> set[str]:
    """Capitalised names in an answer that the prompt does not already name.

    A capitalised single word opening a sentence may be any word ("Paris is ...", "It is ..."):
    it counts only with ``initial=True``, used to see whether two answers share a name.
    """
    return _not_in(_names(answer, initial), prompt)


def _not_in(names: AbstractSet[str], prompt: str) -> set[str]:
    """The names the prompt does not mention (case-insensitively)."""
    prompt_lower = prompt.lower()
    return {n for n in names if n.lower() not in prompt_lower}


def _names(answer: str, initial: bool) -> frozenset[str]:
    """The capitalised names of an answer (``entities`` before the prompt's are taken out)."""
    named = set()
    for sentence in re.split(r"(?<=[.!?])\s+|\n", answer):
        for i, m in enumerate(_CAPS.finditer(sentence)):
            name = m.group(0).strip(" .")
            # a capitalised first word of a sentence is a name only when it is several words
            opening = i == 0 and m.start() == 0 and " " not in name
            if (opening and not initial) or name.lower() in STOP_WORDS:
                continue
            named.add(name)
    return frozenset(named)


def is_open_ended(prompt: str, open_words: tuple[str, ...] = OPEN_ENDED) -> bool:
    """Whether a prompt has many right answers (``Write a poem``, ``Give an example of``)."""
    first = _WORDS.findall(prompt.lower()[:40])
    return bool(first and first[0] in open_words) or bool(_OPEN_HINT.search(prompt[:200]))


class Facts:
    """One answer's features, each computed once (on first use) however many pairs the answer
    is in: its normal form, format profile, final answers, content words and names."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._numbers: dict[bool, FinalNumber | None] = {}
        self._names: dict[bool, frozenset[str]] = {}
        self._entities: dict[tuple[str, bool], set[str]] = {}

    @cached_property
    def normal(self) -> str:
        """``normalize`` of the answer."""
        return normalize(self.text)

    @cached_property
    def placeholder(self) -> bool:
        """Whether the answer is a placeholder (``N/A``, ``no output``)."""
        return bool(_PLACEHOLDER.match(self.text))

    @cached_property
    def profile(self) -> AnswerProfile:
        """What the answer looks like (``curate.audit.format_profile.profile``)."""
        return profile(self.text)

    @cached_property
    def yes_no(self) -> tuple[str, bool] | None:
        """``yes_no`` of the answer."""
        return yes_no(self.text)

    @cached_property
    def choice(self) -> tuple[str, str] | None:
        """``choice`` of the answer."""
        return choice(self.text)

    @cached_property
    def words(self) -> frozenset[str]:
        """``words`` of the answer."""
        return words(self.text)

    @cached_property
    def word_count(self) -> int:
        """Whitespace-separated words."""
        return len(self.text.split())

    @cached_property
    def opening(self) -> str:
        """The answer's opening words, as a divergent pair shows them."""
        return _opening(self.text)

    def number(self, quantity: bool) -> FinalNumber | None:
        """``curate.text.answers.stated_number`` of the answer (``quantity``: the prompt asks
        for one)."""
        if quantity not in self._numbers:
            self._numbers[quantity] = stated_number(self.text, quantity=quantity)
        return self._numbers[quantity]

    def entities(self, prompt: str, initial: bool = False) -> set[str]:
        """``entities`` of the answer to ``prompt``."""
        key = (prompt, initial)
        if key not in self._entities:
            if initial not in self._names:
                self._names[initial] = _names(self.text, initial)
            self._entities[key] = _not_in(self._names[initial], prompt)
        return self._entities[key]


_PER_ANSWER = 1 << 14
"""Answers whose ``Facts`` are remembered: the contradiction step compares the same answer once
for every pair it is in, and its pairs come key by key, so a key's answers repeat while its
pairs are compared."""


@lru_cache(maxsize=_PER_ANSWER)
def facts(text: str) -> Facts:
    """The answer's ``Facts`` (remembered for the last ``_PER_ANSWER`` answers)."""
    return Facts(text)


_FINAL: tuple[tuple[str, Callable[[Facts, bool], tuple | None]], ...] = (
    ("yes_no", lambda f, quantity: f.yes_no),
    ("choice", lambda f, quantity: f.choice),
    ("number", lambda f, quantity: f.number(quantity)),
)
"""Final answers, strongest first: the first that both answers state decides the pair."""


@lru_cache(maxsize=_PER_ANSWER)
def _prompt_kind(prompt: str, open_words: tuple[str, ...]) -> tuple[bool, bool]:
    """(open-ended, asks for a quantity) of a prompt."""
    return is_open_ended(prompt, open_words), bool(_QUANTITY_QUESTION.search(prompt))


def compare(
    a: str,
    b: str,
    prompt: str = "",
    *,
    label_words: int = 4,
    entity_words: int = 30,
    divergent_below: float = 0.3,
    same_above: float = 0.7,
    open_words: tuple[str, ...] = OPEN_ENDED,
    set_format: str | None = None,
) -> Conflict | None:
    """Classify a pair of answers to one prompt; None when they agree or are near-identical.

    Args:
        a: answer A.
        b: answer B.
        prompt: the question (names it already mentions are not taken as answers).
        label_words: answers of at most this many words are compared as labels.
        entity_words: answers of at most this many words are compared by named entities.
        divergent_below: content-word Jaccard under which unresolved answers are ``divergent``.
        same_above: content-word Jaccard at or over which answers count as the same answer.
        open_words: leading words of open-ended prompts, whose answers are compared by format
            only (two different poems do not contradict each other).
        set_format: the set's dominant answer format (``format_profile.dominant_format``): a
            list against a paragraph conflicts only when one of them has it; None (unknown):
            every structural difference of answers that share few words conflicts.
    """
    fa, fb = facts(a), facts(b)
    if fa.normal == fb.normal or fa.placeholder or fb.placeholder:
        return None  # placeholders are the quality check's business, not a contradiction
    pa, pb = fa.profile, fb.profile
    if format_conflict(pa, pb) == "hard":
        return _format(pa, pb)  # the same content as JSON and as prose is still two formats
    open_ended, quantity = _prompt_kind(prompt, open_words)
    if not open_ended:
        for kind, extract in _FINAL:
            ea = extract(fa, quantity)
            eb = extract(fb, quantity) if ea else None
            if ea and eb:
                if ea[1] == eb[1]:
                    return None  # the final answers agree: wording does not matter
                return Conflict(kind, ea[0], eb[0], str(ea[1]), str(eb[1]))
    wa, wb = fa.words, fb.words
    overlap = jaccard(wa, wb)
    structure = format_conflict(pa, pb, set_format)
    if structure and (set_format is not None or overlap < same_above):
        return _format(pa, pb)
    if overlap >= same_above:
        return None
    if open_ended:
        return None
    na, nb = fa.word_count, fb.word_count
    if max(na, nb) <= label_words:
        if wa and wb and (wa <= wb or wb <= wa):
            return None  # one answer contains the other ("France" within "Germany and France")
        return Conflict("label", a.strip(), b.strip(), fa.normal, fb.normal)
    if max(na, nb) <= entity_words:
        ea_names, eb_names = fa.entities(prompt), fb.entities(prompt)
        shared = _overlaps(fa.entities(prompt, True), fb.entities(prompt, True))
        if shared:
            return None  # short answers naming the same thing agree on what matters
        if ea_names and eb_names:
            sa, sb = ", ".join(sorted(ea_names)), ", ".join(sorted(eb_names))
            return Conflict("entity", sa, sb, sa.lower(), sb.lower())
    if overlap < divergent_below:
        return Conflict("divergent", fa.opening, fb.opening, fa.normal[:80], fb.normal[:80])
    return None


def _format(pa: AnswerProfile, pb: AnswerProfile) -> Conflict:
    fa = pa.format + (f"{{{','.join(pa.json_keys)}}}" if pa.is_json else "")
    fb = pb.format + (f"{{{','.join(pb.json_keys)}}}" if pb.is_json else "")
    return Conflict("format", fa, fb, fa, fb)


def _overlaps(a: set[str], b: set[str]) -> bool:
    """Whether any name of one set shares a word with a name of the other (Paris ~ Paris, FR)."""
    wa = {w for name in a for w in name.lower().split()}
    wb = {w for name in b for w in name.lower().split()}
    return bool(wa & wb)


def _opening(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


ANSWER_KINDS = frozenset({"yes_no", "choice", "number", "label", "entity"})
"""Conflicts between final answers: such a pair is a contradiction, never a duplicate."""
GUARDED_KINDS = ANSWER_KINDS | {"format"}
"""Conflicts dedup never merges: final answers, and formats (prose against JSON, ...)."""


def final_answers_conflict(
    prompts: list[str], a: list[str], b: list[str], set_format: str | None = None
) -> list[bool]:
    """For each pair of answers to a prompt, whether their final answers or formats conflict.

    Deduplication asks this of the pairs it is about to merge: two records that ask the same
    thing but end in different numbers, labels or yes/no, or answer in different formats, are
    material for the contradiction check, and merging them would silently keep one side (maybe
    the wrong one). ``set_format`` is the set's dominant format, as in ``compare``.
    """
    return [
        (c := compare(x, y, p, set_format=set_format)) is not None and c.kind in GUARDED_KINDS
        for p, x, y in zip(prompts, a, b, strict=True)
    ]
