"""Content rules of the quality check: what a prompt or answer says that makes it a bad example.

Placeholders, content the model cannot see, merged instructions, refusals and boilerplate. (How
a text is damaged, truncated, repetitive or mis-encoded, is in ``curate/text_damage.py``.) Each
rule is a pure function of one string returning its evidence or ``None``, so it is easy to test
alone; the step in ``curate/quality.py`` runs the rules over every side of every record. Each is
tuned to keep false positives on ordinary answers (lists, code, maths, poems, one-word labels)
low, because a reviewer reads what it flags.
"""

from __future__ import annotations

import re
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


# Words every refusal / boilerplate pattern contains: a substring test on them is much cheaper
# than the patterns, and most answers fail it.
# fmt: off
_REFUSAL_WORDS = ("sorry", "afraid", "apologi", "cannot", "can't", "can not", "unable",
                  "not able", "ability", "won't be able", "requires", "not possible", "beyond",
                  "outside", "involves generating")
_BOILERPLATE_WORDS = ("an ai", "a ai", "artificial intelligence", "language model",
                      "virtual assistant", "chatbot", "training data", "knowledge cut")
# fmt: on


def refusal(answer: str) -> Evidence | None:
    """An answer that declines the task ("I'm sorry, but I cannot ...", "The task requires ...")."""
    low = answer.lower()
    if not any(word in low for word in _REFUSAL_WORDS):
        return None
    match = _FIRST_PERSON_REFUSAL.search(answer) or _REFUSAL.search(answer)
    return {"span": match.group(0).strip()} if match else None


def assistant_boilerplate(answer: str) -> Evidence | None:
    """An answer that talks about itself as an AI ("As an AI language model ...")."""
    low = answer.lower()
    if not any(word in low for word in _BOILERPLATE_WORDS):
        return None
    match = _BOILERPLATE.search(answer)
    return {"span": match.group(0)} if match else None
