"""Text rules of the quality check: each looks at one text and returns its evidence or ``None``.

The rules are pure functions over strings so they are easy to test on their own; the step in
``curate/quality.py`` runs them over every answer side of every record and turns what they
return into findings. Each rule is tuned to keep false positives on ordinary answers (lists,
code, maths, poems, one-word labels) low, because a reviewer reads what it flags.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from typing import Any

Evidence = dict[str, Any]

# --- placeholders ------------------------------------------------------------------------------

# Whole-answer placeholders seen in Alpaca-style data: "<nooutput>", "<No Output>", "N/A",
# "No output because ...". "None" is not here: it is a real answer to many questions.
_PLACEHOLDER_ANSWER = re.compile(
    r"""\s*(?:
        [<\[(]\s*no[\s_-]*(?:output|answer|response|input)\s*[>\])]
      | no[\s_-]*(?:output|answer|response)\b.*
      | n\s*/\s*a | null | nil | tbd | todo | [-_.?]+
      | [<\[(]\s*(?:output|answer|response|insert[^>\]]*|empty|blank)\s*[>\])]
    )\s*\.?\s*""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)

# A placeholder where an input should be ("<noinput>", "No input required.", "N/A", "None").
# Inputs are appended to the instruction after a blank line, so it is the last paragraph.
_PLACEHOLDER_INPUT = re.compile(
    r"""\s*(?:input\s*:\s*)?(?:
        [<\[(]\s*no[\s_-]*input\s*[>\])]
      | no[\s_-]*input(?:\s+(?:is\s+)?(?:required|needed|necessary|provided|given|available))?
      | n\s*/\s*a | none | null | nil | [-_.?]+ | [<\[(]\s*(?:input|empty|blank)\s*[>\])]
    )\s*\.?\s*""",
    re.IGNORECASE | re.VERBOSE,
)


# The bracketed tokens are never real content, wherever they stand ("Joe Smith <noinput>").
_NO_INPUT_TOKEN = re.compile(r"<\s*(?:no[\s_-]*inputs?|none)\b\s*\\?>?", re.IGNORECASE)
_NO_OUTPUT_TOKEN = re.compile(r"<\s*no[\s_-]*(?:output|answer|response)s?\s*>", re.IGNORECASE)


def placeholder_answer(text: str) -> Evidence | None:
    """An answer that is a placeholder for an answer (``<nooutput>``, ``N/A``, ``No output``)."""
    if text.strip() and _PLACEHOLDER_ANSWER.fullmatch(text):
        return {"span": text.strip()[:200]}
    match = _NO_OUTPUT_TOKEN.search(text)
    return {"span": match.group(0)} if match else None


def placeholder_input(prompt: str) -> Evidence | None:
    """A prompt whose input paragraph (or whole text) is a placeholder (``<noinput>``)."""
    match = _NO_INPUT_TOKEN.search(prompt)
    if match:
        return {"span": match.group(0)}
    paragraphs = [p for p in re.split(r"\n\s*\n", prompt) if p.strip()]
    for paragraph in paragraphs[-1:] + paragraphs[:1]:
        if _PLACEHOLDER_INPUT.fullmatch(paragraph):
            return {"span": paragraph.strip()[:200]}
    return None


# --- content the model cannot see --------------------------------------------------------------

_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
_MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MEDIA = (
    r"(?:image|photo(?:graph)?|picture|pic|graph|chart|diagram|figure|illustration|drawing|"
    r"painting|screenshot|video|audio|recording|sound ?clip|clip|map|scan|sketch|logo)s?"
)
_TEXTUAL = r"(?:document|file|attachment|pdf|spreadsheet|article|web ?page|website|link|essay)s?"
# "[Image of a website]", "(attached image)", "<photo>", "(Link to photo)".
_BRACKETED = re.compile(
    rf"[\[(<]\s*(?:[\w-]+\s+){{0,2}}(?:{_MEDIA}|{_TEXTUAL}|link)\b[^\])>\n]{{0,80}}[\])>]",
    re.IGNORECASE,
)
# "the given photo", "this chart", "the attached file", "given a picture of": a reference to a
# thing that should be beside the text. A bare "the" is not enough ("create a chart", "the photo
# industry" are fine), and "video game(s)" is a subject, not a video.
_DEICTIC = r"(?:given|following|attached|provided|above|below|this|these|uploaded|enclosed|accompanying|shown|included|linked|supplied)"
_REFERENCE = re.compile(
    rf"\b(?:{_DEICTIC}\s+(?:[\w-]+\s+){{0,2}}?|given\s+an?\s+(?:[\w-]+\s+)?)"
    rf"(?:{_MEDIA}|{_TEXTUAL})\b(?!\s+games?)",
    re.IGNORECASE,
)
# "Summarize the following text." with nothing after it: the input it points to is missing.
# "a given sentence" is generic, so only pointing words count here, and only at the very end.
_DANGLING = re.compile(
    r"\b(?:following|attached|provided|below|above|this|these)\s+(?:[\w-]+\s+){0,2}?"
    r"(?:sentences?|text|paragraphs?|passages?|story|poem|list|data(?:set)?|table|code|"
    r"statements?|words?|phrases?|numbers?|equation|song|lyrics|quote|article|document|essay|"
    r"file|email|letter|input|review|tweet)\s*[.:?]?\s*$",
    re.IGNORECASE,
)
# Reserved example domains (RFC 2606) name no real page: the task is about the URL's text.
_EXAMPLE_URL = re.compile(
    r"^(?:https?://)?(?:[\w-]+\.)*example\.(?:com|org|net)\b|\.(?:test|example|invalid)\b",
    re.IGNORECASE,
)


def needs_unseen_content(prompt: str) -> Evidence | None:
    """A prompt that points at content the model cannot see: a URL, an image, an attachment.

    A URL, a Markdown image or a bracketed stand-in ("[Image of a website]", "<excel file>")
    counts wherever it stands (URLs on reserved example domains excepted). A phrase that refers
    to a thing beside the text ("the following chart", "given a photo", "this article") counts
    only when the prompt has no input paragraph that could hold it.
    """
    for url in _URL.finditer(prompt):
        if not _EXAMPLE_URL.search(url.group(0)):
            return {"kind": "url", "span": url.group(0)[:200]}
    for kind, pattern in (("image", _MARKDOWN_IMAGE), ("attachment", _BRACKETED)):
        match = pattern.search(prompt)
        if match:
            return {"kind": kind, "span": match.group(0)[:200]}
    # A placeholder ("<noinput>") is no input: the reference still points at nothing.
    paragraphs = [p for p in re.split(r"\n\s*\n", prompt) if p.strip()]
    real = [p for p in paragraphs[1:] if not _PLACEHOLDER_INPUT.fullmatch(p)]
    if any(not _NO_INPUT_TOKEN.fullmatch(p.strip()) for p in real):
        return None
    for kind, pattern in (("missing_content", _REFERENCE), ("missing_input", _DANGLING)):
        match = pattern.search(prompt)
        if match:
            return {"kind": kind, "span": match.group(0).strip()[:200]}
    return None


# --- merged instructions -----------------------------------------------------------------------

# Alpaca's generator sometimes kept going: "6. Instruction: ...\n6. Input: ...\n6. Output: ...".
_NUMBERED_INSTRUCTION = re.compile(
    r"^[ \t#*]*\d{1,3}\s*[.)]\s*(?:Instruction|Input|Output)\s*:", re.IGNORECASE | re.MULTILINE
)
# The unnumbered form: a line that is only "### Instruction" / "Instruction:" (an answer that
# merely shows "Input:" and "Output:" examples is asked for by some tasks, so those don't count).
_INSTRUCTION_LINE = re.compile(
    r"^[ \t#*]*Instruction\s*:?[ \t]*$|^[ \t]*#{2,}\s*Instruction\b", re.IGNORECASE | re.MULTILINE
)


def merged_instructions(answer: str) -> Evidence | None:
    """An answer that carries further instructions (numbered ``N. Instruction:`` blocks)."""
    first = _NUMBERED_INSTRUCTION.search(answer) or _INSTRUCTION_LINE.search(answer)
    if first is None:
        return None
    line_end = answer.find("\n", first.start())
    line = answer[first.start() : line_end if line_end >= 0 else None]
    count = len(_NUMBERED_INSTRUCTION.findall(answer)) + len(_INSTRUCTION_LINE.findall(answer))
    return {"span": line.strip()[:200], "count": count}


# --- truncation ----------------------------------------------------------------------------

# Words a finished sentence does not end on (prepositions can: "rolling in", "strive for").
_CONNECTORS = frozenset(
    (
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "nor",
        "of",
        "than",
        "because",
        "whereas",
        "although",
        "including",
        "e.g.",
        "i.e.",
        "such",
        "as",
        "is",
        "are",
        "was",
        "were",
        "its",
        "their",
        "our",
        "your",
        "my",
    )
)
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}
_TERMINAL = tuple(".!?…\"'”’)]}*`>|~;/") + tuple("0123456789")
_SMILEY = re.compile(r"(?:(?<=\s)|^)[:;=]-?[()]")
_CODE_LINE = re.compile(
    r"^\s*(?:for|if|elif|else|while|def|class|try|except|with|switch|case)\b|\)\s*:$"
)


def _unclosed_brackets(text: str) -> tuple[str, int] | None:
    """The first opener left unclosed (and its offset), ignoring closers with no opener."""
    stack: list[tuple[str, int]] = []
    for i, ch in enumerate(_SMILEY.sub("  ", text)):
        if ch in _OPENERS:
            stack.append((ch, i))
        elif ch in _CLOSERS:
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
    fences = re.findall(r"^[ \t]*```", text, re.MULTILINE)
    if len(fences) % 2:
        return {"kind": "open_code_block", "span": text[-80:]}
    unclosed = _unclosed_brackets(text)
    if unclosed is not None:
        char, at = unclosed
        return {"kind": "unclosed_bracket", "bracket": char, "span": text[at : at + 80]}
    if text.count("“") > text.count("”") and text.rfind("“") > text.rfind("”"):
        return {"kind": "unclosed_quote", "span": text[text.rfind("“") :][:80]}
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
    listy = tail.count(",") >= 3 and len(tail_words) < 5 * tail.count(",")
    prose = ("\n" not in text.strip() or "\n\n" in text) and not listy
    if (
        prose
        and len(tail_words) >= 8
        and len(words) >= min_words_mid_sentence
        and not last_line.endswith(_TERMINAL)
        and not re.search(r"#\w|https?://|\d\.\s", tail)
        and tail_words[-1][-1:].isalpha()
    ):
        return {"kind": "ends_mid_sentence", "span": last_line[-80:]}
    return None


# --- refusals and assistant boilerplate ------------------------------------------------------

_BOILERPLATE = re.compile(
    r"\bas an? (?:ai|artificial intelligence)(?: (?:language )?model| assistant| system)?\b"
    r"|\bas a (?:large )?language model\b"
    r"|\bI(?:'m| am) (?:just |only )?an? (?:ai|artificial intelligence|(?:large )?language model|"
    r"virtual assistant|chatbot)\b"
    r"|\bmy (?:training data|knowledge cut-?off)\b",
    re.IGNORECASE,
)
# The model declining, in the first person or about "the model"/"the task". First-person forms
# count only in the answer's first sentence: later they are usually a role ("I am unable to
# access the page" in a support ticket) or a quotation.
_FIRST_PERSON_REFUSAL = re.compile(
    r"^\W{0,3}(?:(?:I(?:'m| am) )?(?:sorry|afraid|apologi[sz]e)\W+(?:but )?)?I (?:cannot|can't|can not|"
    r"am unable to|am not able to|don't have the ability to|do not have the ability to|won't be able "
    r"to) (?:provide|generate|create|produce|draw|perform|access|browse|see|view|display|play|"
    r"record|compose|complete|fulfill|answer|assist|do|write|make|show|open|listen|help)\b"
    r"|^\W{0,3}sorry\W+(?:but )?(?:the|this|that|I)\b[^.!?\n]{0,80}\b(?:task|instruction|request|"
    r"cannot|can't|unable|not able|not possible)\b",
    re.IGNORECASE,
)
_REFUSAL = re.compile(
    r"\b(?:this|the) (?:instruction|task|request) (?:requires|cannot|can't|is not possible|is "
    r"(?:beyond|outside)|involves generating)"
    r"|\b(?:GPT|language) models? (?:cannot|can't|can not|is unable to|are unable to)\b"
    r"|\bcannot be (?:completed|done|performed|fulfilled|generated) by (?:a|an|the) "
    r"(?:GPT|AI|language|model)",
    re.IGNORECASE,
)


def refusal(answer: str) -> Evidence | None:
    """An answer that declines the task ("I'm sorry, but I cannot ...", "The task requires ...")."""
    match = _FIRST_PERSON_REFUSAL.search(answer) or _REFUSAL.search(answer)
    return {"span": match.group(0).strip()} if match else None


def assistant_boilerplate(answer: str) -> Evidence | None:
    """An answer that talks about itself as an AI ("As an AI language model ...")."""
    match = _BOILERPLATE.search(answer)
    return {"span": match.group(0)} if match else None


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
        counts = Counter(lines)
        duplicated = sum(c for c in counts.values() if c > 1) - sum(
            1 for c in counts.values() if c > 1
        )
        fraction = duplicated / len(lines)
        if fraction >= max_dup_line_fraction:
            line, count = counts.most_common(1)[0]
            return {
                "kind": "repeated_lines",
                "span": line[:200],
                "count": count,
                "score": round(fraction, 3),
            }
    if len(words) >= min_words:
        grams = [tuple(words[i : i + ngram]) for i in range(len(words) - ngram + 1)]
        counts = Counter(grams)
        covered = [False] * len(words)
        for i, gram in enumerate(grams):
            if counts[gram] > 1:
                covered[i : i + ngram] = [True] * ngram
        fraction = sum(covered) / len(words)
        if fraction >= max_dup_ngram_fraction:
            gram, count = counts.most_common(1)[0]
            return {
                "kind": "repeated_ngrams",
                "span": " ".join(gram),
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
