"""Finding secrets in one text: private keys, JWTs, provider API keys, assigned credentials, and
unlabelled high-entropy strings.

Provider keys are matched by their documented prefixes (``sk-``, ``ghp_``, ``AKIA``, ``xox*``,
``AIza``, ``hf_``, ...); anything else must look random: a token of 20+ characters that mixes
upper case, lower case and digits with a Shannon entropy of 4 bits per character or more (hex:
32+ characters, 3.5 bits), outside URLs and not a hyphenated or snake-case phrase. Called by
``curate.checks.pii_spans.find_spans``, which types and de-overlaps the spans.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

Hit = tuple[str, int, int, str, dict[str, Any]]
"""(kind, start, end, text, detail)."""

_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|.*)",
    re.DOTALL,
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
# (provider, literal prefixes, pattern): a pattern runs only on texts holding one of its
# prefixes, since a regex alternation of them all scans slowly.
_API_KEYS = (
    ("openai_or_anthropic", ("sk-",), r"\bsk-(?:proj-|ant-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    ("stripe", ("_live_", "_test_"), r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{20,}"),
    (
        "github",
        ("gh", "github_pat_"),
        r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})",
    ),
    ("aws_access_key", ("AKIA", "ASIA"), r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("slack", ("xox",), r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    ("google", ("AIza",), r"\bAIza[0-9A-Za-z_-]{35}"),
    ("huggingface", ("hf_",), r"\bhf_[A-Za-z0-9]{30,}"),
)
_API_KEY_PATTERNS = tuple((name, prefixes, re.compile(rx)) for name, prefixes, rx in _API_KEYS)
# `password = "hunter22"`, `"api_key": "abc123..."`: a value assigned to a credential name.
_CREDENTIAL = re.compile(
    r"""(?ix)\b(?:api[_-]?key|secret(?:[_-]?key)?|access[_-]?token|auth[_-]?token|token|
        password|passwd|pwd)["']?\s*[:=]\s*(?P<q>["']?)(?P<value>[^\s"'<>{}()\[\],;]{8,})(?P=q)"""
)
_NOT_A_VALUE = re.compile(
    r"(?i)^(?:your[_-].*|x+|\*+|\.+|placeholder|changeme|example\w*|none|null|true|false|"
    r"(?:os\.environ|os\.getenv|getenv|process\.env|env|settings|config|self)\b.*|[A-Z_]+)$"
)

_HIGH_ENTROPY = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{20,}(?![A-Za-z0-9+/=_-])")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.I)


def shannon_entropy(text: str) -> float:
    """Bits per character of the text's own character distribution."""
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0


def secret_spans(
    text: str, kinds: frozenset[str], threshold: float = 4.0, min_length: int = 20
) -> Iterator[Hit]:
    """Every secret-shaped span of the enabled kinds (they may overlap; the caller decides)."""
    if "private_key" in kinds and "PRIVATE KEY" in text:
        for m in _PRIVATE_KEY.finditer(text):
            yield "private_key", m.start(), m.end(), m.group(0), {}
    if "jwt" in kinds and "eyJ" in text:
        for m in _JWT.finditer(text):
            yield "jwt", m.start(), m.end(), m.group(0), {}
    if "api_key" in kinds:
        for provider, prefixes, pattern in _API_KEY_PATTERNS:
            if any(prefix in text for prefix in prefixes):
                for m in pattern.finditer(text):
                    yield "api_key", m.start(), m.end(), m.group(0), {"provider": provider}
    if "credential" in kinds:
        for m in _CREDENTIAL.finditer(text):
            value = m.group("value")
            alphanumeric = bool(re.search(r"\d", value) and re.search(r"[A-Za-z]", value))
            if not _NOT_A_VALUE.match(value) and (m.group("q") or alphanumeric):
                yield "credential", m.start("value"), m.end("value"), value, {}
    if "high_entropy" in kinds:
        masked = _URL.sub(lambda u: " " * len(u.group(0)), text)
        for m in _HIGH_ENTROPY.finditer(masked):
            token = m.group(0)
            if len(token) < min_length or len(re.findall(r"[-_]", token)) > 2:
                continue  # hyphenated or snake-case words, URL slugs
            hexish = re.fullmatch(r"[0-9a-fA-F]+", token) is not None
            mixed = all(re.search(rx, token) for rx in (r"\d", r"[a-z]", r"[A-Z]"))
            entropy = shannon_entropy(token)
            # Hex has at most 4 bits per character, so it gets a lower bar (and a longer token).
            if (mixed and entropy >= threshold) or (
                hexish and len(token) >= 32 and entropy >= threshold - 0.5
            ):
                yield ("high_entropy", m.start(), m.end(), token, {"entropy": round(entropy, 2)})
