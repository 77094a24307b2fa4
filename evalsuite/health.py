"""Generation health: empty answers, truncation at max tokens, a missing end of turn, repetition.

A tuned model that forgot how to stop, or loops, may still pass a lenient ``contains`` check;
these flags make that visible and gateable (each is a metric where lower is better).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

# Chat-template markers and new role turns in an answer mean the model ran past its own turn.
_TURN_MARKERS = re.compile(
    r"<\|im_start\|>|<\|im_end\|>|<\|eot_id\|>|<\|start_header_id\|>|<\|endoftext\|>|</s>|"
    r"<end_of_turn>|<start_of_turn>|\[/?INST\]|^\s*(?:###\s*)?(?:User|Human|Assistant)\s*:|"
    # Templates whose markers are special tokens leave a bare role name on its own line.
    r"^(?:user|assistant|system)\s*$",
    re.MULTILINE,
)
REPETITION_MIN_WORDS = 20
"""Answers shorter than this are never flagged as repetitive (too few n-grams to judge)."""
REPETITION_THRESHOLD = 0.5
"""The share of repeated word 4-grams above which an answer is flagged."""
REPETITION_MIN_CHARS = 80
"""An answer with too few words but at least this many characters is judged on character
8-grams instead: a broken model's ``":":":":…`` has one "word" and would never be flagged."""


class Health(BaseModel):
    """Health flags of one generation."""

    model_config = ConfigDict(frozen=True)

    empty: bool
    """The answer is empty or whitespace."""
    truncated: bool
    """Generation stopped at max_tokens (``finish_reason == "length"``)."""
    missing_eot: bool
    """The answer holds a chat-template marker or a new role turn: it ran past its turn."""
    repetition: bool
    """More than half of the answer's word 4-grams repeat earlier ones."""
    repetition_ratio: float
    """The share of repeated word 4-grams (0 for short answers)."""

    def flags(self) -> dict[str, bool]:
        """The four flags by name."""
        return {
            "empty": self.empty,
            "truncated": self.truncated,
            "missing_eot": self.missing_eot,
            "repetition": self.repetition,
        }


def repetition_ratio(text: str, n: int = 4) -> float:
    """The share of word n-grams that repeat an earlier one (0 when too short to judge).

    Long text with few words (no spaces to split on) is judged on character 8-grams.
    """
    words = text.split()
    if len(words) < REPETITION_MIN_WORDS:
        chars = "".join(words)
        if len(chars) < REPETITION_MIN_CHARS:
            return 0.0
        cgrams = [chars[i : i + 8] for i in range(len(chars) - 7)]
        return 1.0 - len(set(cgrams)) / len(cgrams)
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return 1.0 - len(set(grams)) / len(grams)


def no_answer(text: str) -> str | None:
    """Why ``text`` is no answer at all (``"empty"``, ``"repetitive"``), or None when it is one.

    A check that an empty or looping answer would pass vacuously (at most 30 words, no commas,
    does not refuse) asks this first: a broken model must not score as compliant.
    """
    if not text.strip():
        return "empty"
    if repetition_ratio(text) > REPETITION_THRESHOLD:
        return "repetitive"
    return None


def health(text: str, finish_reason: str | None) -> Health:
    """The health flags of a generated answer."""
    ratio = repetition_ratio(text)
    return Health(
        empty=not text.strip(),
        truncated=finish_reason == "length",
        missing_eot=bool(_TURN_MARKERS.search(text)),
        repetition=ratio > REPETITION_THRESHOLD,
        repetition_ratio=round(ratio, 4),
    )
