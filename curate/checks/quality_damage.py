"""Damage rules of the quality check: answers that are truncated, repetitive or mis-encoded.

Like ``curate/quality_rules.py``, each rule is a pure function of one string that returns its
evidence or ``None``; the thresholds come from ``QualityConfig``.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from typing import Any

Evidence = dict[str, Any]

# --- truncation ----------------------------------------------------------------------------

# Words a finished sentence does not end on (prepositions can: "rolling in", "strive for").
# fmt: off
_CONNECTORS = frozenset((
    "a", "an", "the", "and", "or", "but", "nor", "of", "than", "because", "whereas", "although",
    "including", "e.g.", "i.e.", "such", "as", "is", "are", "was", "were", "its", "their", "our",
    "your", "my",
))
# fmt: on
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}
_BRACKET = re.compile(r"[()\[\]{}]")
_TERMINAL = tuple(".!?…\"'”’)]}*`>|~;/") + tuple("0123456789")
_SMILEY = re.compile(r"(?:(?<=\s)|^)[:;=]-?[()]")
_CODE_LINE = re.compile(
    r"^\s*(?:for|if|elif|else|while|def|class|try|except|with|switch|case)\b|\)\s*:$"
)
# A fence line opens or closes a block; one that also closes on the same line (```x = 1```)
# is inline code and toggles nothing.
_FENCE_LINE = re.compile(r"^[ \t]*```(?![^\n]*```)", re.MULTILINE)
_CLOSED_BLOCK = re.compile(
    r"^[ \t]*```(?![^\n]*```)[^\n]*\n.*?^[ \t]*```[^\n]*$", re.MULTILINE | re.DOTALL
)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_INLINE_NUMBER = re.compile(r"(?:^|\s)\d{1,3}[.)]\s")
_SUBJECTS = {"i", "we", "you", "he", "she", "it", "they"}
"""Pronouns that open a clause after a run of commas (a sentence, not a list), in lower case."""
_LIST_ITEM = re.compile(r"^(?:\d{1,3}[.)]|[a-zA-Z][.)]|[-*•+])\s+")


def _unclosed_brackets(text: str) -> tuple[str, int] | None:
    """The first opener left unclosed (and its offset), ignoring closers with no opener."""
    if "(" not in text and "[" not in text and "{" not in text:
        return None
    stack: list[tuple[str, int]] = []
    for m in _BRACKET.finditer(_SMILEY.sub("  ", text)):
        ch = m.group(0)
        if ch in _OPENERS:
            stack.append((ch, m.start()))
            continue
        # A closer with no matching opener ("1) first", "a)") is list numbering, not damage.
        for j in range(len(stack) - 1, -1, -1):
            if stack[j][0] == _CLOSERS[ch]:
                del stack[j:]
                break
    return stack[0] if stack else None


def truncated(answer: str, min_words_mid_sentence: int = 25) -> Evidence | None:
    """An answer that stops early: in a code block, inside brackets or quotes, mid-sentence.

    Args:
        answer: the answer text.
        min_words_mid_sentence: a final paragraph without terminal punctuation counts only when
            it is prose at least this long (short labels, list items and poem lines lack a
            full stop by nature).
    """
    text = answer.rstrip()
    if not text:
        return None
    if len(_FENCE_LINE.findall(text)) % 2:
        return {"kind": "open_code_block", "span": text[-80:]}
    # Code that was closed is finished: its brackets and quotes are the code's business
    # (a "(" in a string, "{{" in a format string), not a sign the answer stopped early.
    outside = _INLINE_CODE.sub(" ", _CLOSED_BLOCK.sub(" ", text))
    unclosed = _unclosed_brackets(outside)
    if unclosed is not None:
        char, at = unclosed
        return {"kind": "unclosed_bracket", "bracket": char, "span": outside[at : at + 80]}
    if outside.count("“") > outside.count("”") and outside.rfind("“") > outside.rfind("”"):
        return {"kind": "unclosed_quote", "span": outside[outside.rfind("“") :][:80]}
    last_line = text.rsplit("\n", 1)[-1].strip()
    words = last_line.split()
    if not words or last_line.startswith(("#", "//", "-", "*", "|", "<", "•")):
        return None
    if (
        len(text.split()) >= 5
        and len(words) >= 3
        and words[-1] in _CONNECTORS
        and not words[-2].endswith((":", ","))
    ):
        # Lower case only: "Company A" signs a letter; "Verb: had" and "this, a" are lists.
        return {"kind": "ends_with_connector", "span": last_line[-80:]}
    if (
        len(words) >= 3
        and last_line.endswith((",", ":", "(", "–", "—"))
        and not _CODE_LINE.search(last_line)
    ):
        return {"kind": "ends_with_continuation", "span": last_line[-80:]}
    # The last sentence: prose after the last full stop, without hashtags, links, list commas.
    tail = re.split(r"[.!?…]\s", text + " ")[-1].strip()
    tail_words = tail.split()
    # Four or more short comma-separated items ("Moby Dick, Pride and Prejudice, 1984, Twilight")
    # are a list; a last item that opens with a subject ("..., 3, we add") is a clause.
    listy = (
        tail.count(",") >= 3
        and len(tail_words) < 5 * tail.count(",")
        and " ".join(tail.rsplit(",", 1)[-1].split()[:1]).lower() not in _SUBJECTS
    )
    # A list's last item written as a fragment ("10. Travel more") needs no full stop; one
    # written in sentences ("2. Exercise: Aim for ... . Walk") should end like one.
    prose = ("\n" not in text.strip() or "\n\n" in text) and not listy
    item = _LIST_ITEM.match(last_line)
    prose = prose and (not item or bool(re.search(r"[.!?]\s", last_line[item.end() :])))
    # A paragraph that already finished a sentence and then stops on a bare word was cut,
    # however short the last fragment ("... they'd have to face. But"); a paragraph of one
    # unpunctuated sentence needs a longer one (a title or a sign-off is short).
    # An inline numbered list ("9. Hawaii 10. Fiji") and an attribution ("... -C.S. Lewis") are
    # not sentences.
    earlier_sentence = (
        len(re.split(r"[.!?…]\s", last_line + " ")) > 1
        and len(_INLINE_NUMBER.findall(last_line)) < 2
        and not re.search(r"(?:^|\s)[-–—~]\s?\S+[^.!?]*$", last_line)
    )
    if (
        prose
        and len(tail_words) >= (1 if earlier_sentence else 8)
        and len(words) >= min_words_mid_sentence
        and not last_line.endswith(_TERMINAL)
        and not re.search(r"#\w|https?://|\d\.\s", tail)
        and tail_words[-1][-1:].isalpha()
    ):
        return {"kind": "ends_mid_sentence", "span": last_line[-80:]}
    return None


# --- repetition ----------------------------------------------------------------------------


def repetition(
    answer: str,
    ngram: int = 8,
    max_dup_ngram_fraction: float = 0.6,
    min_words: int = 30,
    max_dup_line_fraction: float = 0.5,
    min_lines: int = 4,
    max_run: int = 5,
) -> Evidence | None:
    """An answer that repeats itself: duplicated lines, repeated n-grams, or a word stuck.

    See ``QualityConfig`` for what each threshold means.
    """
    words = answer.lower().split()
    run = 1
    for prev, word in itertools.pairwise(words):
        run = run + 1 if word == prev and word.isalpha() else 1
        if run > max_run:
            return {"kind": "repeated_word", "span": word, "run": run}
    lines = [line.strip() for line in answer.splitlines() if len(line.split()) >= 2]
    if len(lines) >= min_lines:
        line_counts = Counter(lines)
        duplicated = sum(c - 1 for c in line_counts.values())
        fraction = duplicated / len(lines)
        if fraction >= max_dup_line_fraction:
            line, count = line_counts.most_common(1)[0]
            return {
                "kind": "repeated_lines",
                "span": line[:200],
                "count": count,
                "score": round(fraction, 3),
            }
    # Each word in a repeated n-gram occurs at least twice, so a text with more distinct words
    # than len * (1 - fraction / 2) cannot reach the fraction: skip the n-gram count.
    if len(words) >= min_words and len(set(words)) <= len(words) * (1 - max_dup_ngram_fraction / 2):
        grams = [tuple(words[i : i + ngram]) for i in range(len(words) - ngram + 1)]
        gram_counts = Counter(grams)
        covered = [False] * len(words)
        for i, gram in enumerate(grams):
            if gram_counts[gram] > 1:
                covered[i : i + ngram] = [True] * ngram
        fraction = sum(covered) / len(words)
        if fraction >= max_dup_ngram_fraction:
            top, count = gram_counts.most_common(1)[0]
            return {
                "kind": "repeated_ngrams",
                "span": " ".join(top),
                "count": count,
                "score": round(fraction, 3),
            }
    return None


# --- encoding ------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
# Characters cp1252 or Latin-1 can encode outside ASCII: UTF-8 bytes misread as either become
# runs of them ("â€™" for "’", "Ã©" for "é", "â\x80\x94" for "—").
_MISREAD_RUN = re.compile(
    "[\u0080-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]{2,}"
)


def _unmisread(run: str) -> str | None:
    """The text a run was before UTF-8 was misread as cp1252/Latin-1, or None if it wasn't."""
    for codec in ("cp1252", "latin-1"):
        try:
            fixed = run.encode(codec).decode("utf-8")
        except UnicodeError:
            continue
        if fixed != run and any(ord(c) > 127 for c in fixed):
            return fixed
    return None


def broken_encoding(text: str) -> Evidence | None:
    """Control characters, U+FFFD replacement characters, or UTF-8 read as cp1252 (mojibake)."""
    for run in _MISREAD_RUN.finditer(text):
        fixed = _unmisread(run.group(0))
        if fixed is not None:
            return {"kind": "mojibake", "span": run.group(0), "fixed": fixed}
    match = _CONTROL.search(text)
    if match:
        at = match.start()
        return {
            "kind": "replacement_character" if match.group(0) == "\ufffd" else "control_character",
            "codepoint": f"U+{ord(match.group(0)):04X}",
            "span": text[max(0, at - 30) : at + 30],
        }
    return None
