"""Text normalisation for hashing: one definition, used by exact and near deduplication.

Two records are "the same text" when they agree after Unicode NFKC, lower-casing, removing
punctuation at the edges of words, and collapsing whitespace. The work is a Polars expression (Rust,
vectorised) so a million records normalise in seconds; ``normalize_text`` applies the same
expression to one string so there is a single definition.
"""

from __future__ import annotations

import polars as pl

_PUNCT = r"[\p{P}--[\-*/%&#@\\]]"
"""Unicode punctuation, less the ASCII characters that serve as operators in maths and code."""
_EDGE_PUNCT = (_PUNCT + r"+(\s|$)", r"(^|\s)" + _PUNCT + "+")
"""Punctuation at the edges of words (before a space or the end, after a space or the start)
becomes a space, so "Hello, world!" equals "hello world". Punctuation inside a word stays
("3.14", "a*b", "don't"), and symbols and operator characters always stay ("5 > 3" is not
"5 < 3", "a - b" is not "a * b"): a hash that ignored them would call records that differ only
in an operator exact copies."""

_SEPARATOR = "\n"
"""Joins the parts of a record before normalisation (becomes a space afterwards)."""


def normalize_expr(expr: pl.Expr) -> pl.Expr:
    """NFKC, lower case, punctuation at word edges removed, whitespace collapsed and trimmed."""
    return (
        expr.str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all(_EDGE_PUNCT[0], " ")
        .str.replace_all(_EDGE_PUNCT[1], " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def normalize_text(text: str) -> str:
    """Normalise one string exactly as ``normalize_expr`` does."""
    return pl.select(normalize_expr(pl.lit(text, dtype=pl.Utf8))).item()


def message_text() -> pl.Expr:
    """Inside ``list.eval`` over messages: a message's text, its content then its tool calls as
    ``name(arguments)`` lines (a message without tool calls: its content alone)."""
    call = pl.element().struct.field("name") + pl.lit("(") + pl.element().struct.field("arguments")
    calls = (
        pl.element().struct.field("tool_calls").list.eval(call + pl.lit(")")).list.join(_SEPARATOR)
    )
    content = pl.element().struct.field("content").fill_null("")
    return (
        pl.when(calls.is_null() | (calls == ""))
        .then(content)
        .when(content == "")
        .then(calls)
        .otherwise(content + pl.lit(_SEPARATOR) + calls)
    )


def messages_text(column: str) -> pl.Expr:
    """A message-list column as plain text: ``role: text`` lines (empty when null)."""
    line = pl.element().struct.field("role") + pl.lit(": ") + message_text()
    return pl.col(column).list.eval(line).list.join(_SEPARATOR).fill_null("")


def answer_text() -> pl.Expr:
    """The answer side of a record: the completion, or chosen then rejected for preferences; a
    KTO record's label is part of it (a desirable and an undesirable copy are different)."""
    label = (
        pl.when(pl.col("label").is_null())
        .then(pl.lit(""))
        .otherwise(pl.lit("label: ") + pl.col("label").cast(pl.Utf8))
    )
    return pl.concat_str(
        [messages_text("completion"), messages_text("chosen"), messages_text("rejected"), label],
        separator=_SEPARATOR,
    ).str.strip_chars()


def record_text() -> pl.Expr:
    """The whole record (prompt and answers) as raw text, roles included; a record offering
    tools ends with their definitions (the same exchange with other tools on offer is another
    example: it teaches choosing among them)."""
    tools = (
        pl.when(pl.col("tools").is_null())
        .then(pl.lit(""))
        .otherwise(pl.lit("tools: ") + pl.col("tools"))
    )
    return pl.concat_str(
        [messages_text("prompt"), answer_text(), tools], separator=_SEPARATOR
    ).str.strip_chars_end(_SEPARATOR)


def content_text(
    columns: tuple[str, ...] = ("prompt", "completion", "chosen", "rejected"),
) -> pl.Expr:
    """The message contents of the given columns (roles dropped), joined by blank lines."""
    parts = [pl.col(c).list.eval(message_text()).list.join("\n\n").fill_null("") for c in columns]
    return pl.concat_str(parts, separator="\n\n").str.strip_chars()


def answer_chars() -> pl.Expr:
    """Length in characters of the answer contents (roles excluded)."""
    content = message_text().str.len_chars()
    total = pl.lit(0, dtype=pl.UInt32)
    for col in ("completion", "chosen", "rejected"):
        total = total + pl.col(col).list.eval(content).list.sum().fill_null(0)
    return total


def hash_expr(expr: pl.Expr) -> pl.Expr:
    """A stable 64-bit hash of a text column, as 16 hex characters.

    Polars' own ``hash`` is not stable across versions, so identities that land in files and in
    the store use the first 8 bytes of SHA-256 instead.
    """
    return expr.map_batches(_sha_hex, return_dtype=pl.Utf8)


def _sha_hex(series: pl.Series) -> pl.Series:
    import hashlib

    return pl.Series(
        [hashlib.sha256(s.encode("utf-8")).hexdigest()[:16] for s in series.to_list()],
        dtype=pl.Utf8,
    )
