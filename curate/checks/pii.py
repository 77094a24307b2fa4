"""The PII and secrets step: flag (or redact) emails, phones, IPs, cards, IBANs, keys and tokens.

Detection is in ``curate/pii_detect.py``. The step scans every message of the prompt and of each
answer side and writes one finding per record, reason and side; evidence carries the spans with
their middles masked (a findings file should not become a second copy of the secrets), their
offsets in the message, and what the validator said (card network, IP scope, phone type).

Redaction is a separate function, ``redact_frame``, that the run applies to the curated output
when ``action = "redact"``: spans become typed placeholders such as ``<EMAIL>``. Record ids are
kept as they were, so findings still point at the records they describe.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator

from curate.checks.pii_spans import KINDS, Options, Span, find_spans, mask, redact
from curate.pipeline.step import Finding, OmitNone, Severity, StepResult, findings_frame
from curate.records import MESSAGES

REASONS = {
    "private_key": "secret_private_key",
    "jwt": "secret_jwt",
    "api_key": "secret_api_key",
    "credential": "secret_credential",
    "high_entropy": "secret_high_entropy",
    "email": "pii_email",
    "iban": "pii_iban",
    "credit_card": "pii_credit_card",
    "ip_address": "pii_ip_address",
    "phone_number": "pii_phone_number",
}
"""The reason code of each kind of span."""

MESSAGE_COLUMNS = ("prompt", "completion", "chosen", "rejected")

# Cheap screens, run by Polars over every message, so Python only looks at texts that could
# hold something: an @, a long digit-ish run, a long token, a colon pair, a key header.
_SCREEN = r"@|\d[\d\s().+-]{6,}\d|\d+\.\d+\.\d+\.\d+|[A-Za-z0-9+/=_-]{20,}|:[0-9A-Fa-f]*:|PRIVATE KEY|[:=]\s*\S{8,}"
_SCREEN_RE = re.compile(_SCREEN)


class PIIConfig(BaseModel):
    """What counts as personal data or a secret, and what to do with it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    """Run the PII and secrets check at all."""
    action: Literal["flag", "redact"] = "flag"
    """``flag`` only writes findings; ``redact`` also replaces every span in the curated output
    with a typed placeholder (``<EMAIL>``, ``<PHONE>``, ``<API_KEY>``, ...)."""
    kinds: tuple[str, ...] = KINDS
    """Kinds to detect: private_key, jwt, api_key, credential, email, iban, credit_card,
    ip_address, phone_number, high_entropy. (Tuples, not sets, here and below: the config is
    part of the report and the run id, which must not depend on set order.)"""
    severity: dict[str, Severity] = Field(default_factory=dict)
    """Severity per reason code (``pii_email``, ``secret_api_key``, ...); default ``review``.
    Applied by ``run_steps`` with the config's other overrides, which beat it."""
    phone_region: str = "US"
    """Region assumed for phone numbers written without a country code (ISO 3166 alpha-2)."""
    ignore_example_domains: bool = True
    """Addresses at domains reserved for examples (example.com, *.test, RFC 2606) are nobody's
    and are not reported."""
    ip_scopes: tuple[Literal["global", "private"], ...] = ("global", "private")
    """Which IP addresses to report: public (``global``) and/or private-network ones
    (192.168.x.x reveals an internal network, not a person). Loopback, documentation and
    reserved ranges are never reported."""
    entropy_threshold: float = Field(4.0, gt=0)
    """Shannon entropy (bits per character) at which an unlabelled token of mixed case and
    digits is a secret; hex tokens (32+ characters) need 0.5 less, since hex tops out at 4."""
    entropy_min_length: int = Field(20, ge=8)
    """Shorter tokens are never reported as high-entropy secrets."""

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown kind(s) {unknown}; known: {list(KINDS)}")
        return kinds

    @field_validator("severity")
    @classmethod
    def _known_reasons(cls, severity: dict[str, Severity]) -> dict[str, Severity]:
        unknown = sorted(set(severity) - set(REASONS.values()))
        if unknown:
            raise ValueError(f"unknown reason(s) {unknown}; known: {sorted(REASONS.values())}")
        return severity

    def options(self) -> Options:
        """The detector's options."""
        return Options(
            kinds=frozenset(self.kinds),
            phone_region=self.phone_region,
            ignore_example_domains=self.ignore_example_domains,
            ip_scopes=frozenset(self.ip_scopes),
            entropy_threshold=self.entropy_threshold,
            entropy_min_length=self.entropy_min_length,
        )


class PIIFigures(BaseModel):
    """What the PII and secrets check found (and, with ``redact``, what was redacted)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    records: int
    """Records scanned."""
    messages_scanned: int
    """Messages that passed the cheap screen and were searched for spans."""
    records_flagged: int
    """Records with at least one span."""
    spans_by_kind: dict[str, int]
    """Spans found per kind detected (``email``, ``api_key``, ...)."""
    action: Literal["flag", "redact"]
    """The configured action."""
    redacted_spans: OmitNone[dict[str, int]] = None
    """Spans replaced by a placeholder in the curated output, per kind (``redact`` only; the
    run fills it in after the pipeline, since only kept records are redacted)."""


def _messages_long(records: pl.DataFrame) -> pl.DataFrame:
    """One row per message: ``record``, ``side``, ``message``, ``content`` (screened)."""
    base = records.with_row_index("record")
    parts = []
    for col in MESSAGE_COLUMNS:
        part = (
            base.select("record", pl.col(col).alias("messages"))
            .filter(pl.col("messages").is_not_null())
            .with_columns(pl.int_ranges(pl.col("messages").list.len()).alias("message"))
            .explode("messages", "message")
            .filter(pl.col("messages").is_not_null())
            .select(
                "record",
                pl.lit(col).alias("side"),
                pl.col("message").cast(pl.Int64),
                pl.col("messages").struct.field("content").fill_null("")
                # a tool call's arguments are text a secret can hide in: scanned after content
                + pl.col("messages")
                .struct.field("tool_calls")
                .list.eval(pl.lit("\n") + pl.element().struct.field("arguments"))
                .list.join("")
                .fill_null("")
                .alias("content"),
            )
        )
        parts.append(part)
    return pl.concat(parts).filter(pl.col("content").str.contains(_SCREEN))


class PIICheck:
    """The PII and secrets step."""

    name = "pii"

    def __init__(self, config: PIIConfig | None = None) -> None:
        self.config = config or PIIConfig()
        self._options = self.config.options()

    def run(self, records: pl.DataFrame) -> StepResult[PIIFigures]:
        """One finding per record, reason and side, with masked spans as evidence."""
        grouped: dict[tuple[int, str, str], list[dict[str, Any]]] = {}
        by_kind: Counter[str] = Counter()
        messages = _messages_long(records)
        for i, side, k, content in messages.iter_rows():
            for span in find_spans(content, self._options):
                by_kind[span.kind] += 1
                entry = {
                    "message": k,
                    "start": span.start,
                    "end": span.end,
                    "masked": mask(span.text),
                    **span.detail,
                }
                grouped.setdefault((i, REASONS[span.kind], side), []).append(entry)
        ids, rows = records["id"].to_list(), records["row"].to_list()
        findings = [
            Finding(
                record_id=ids[i],
                row=rows[i],
                check=self.name,
                severity="review",
                reason=reason,
                evidence={"side": side, "count": len(spans), "spans": spans[:10]},
            )
            for (i, reason, side), spans in sorted(grouped.items())
        ]
        figures = PIIFigures(
            records=len(records),
            messages_scanned=len(messages),
            records_flagged=len({i for i, _, _ in grouped}),
            spans_by_kind={
                kind: by_kind.get(kind, 0) for kind in KINDS if kind in self.config.kinds
            },
            action=self.config.action,
        )
        return StepResult(findings=findings_frame(findings), figures=figures)


def mask_text(text: str, options: Options | None = None) -> str:
    """The text with the middle of every PII or secret span hidden, the way evidence shows
    spans (``sk-proj-…`` becomes ``sk****…N4``); text with nothing to hide comes back as it was.

    The report applies it to every excerpt it quotes (records, clusters, contradiction pairs,
    evidence, chart labels), so a report never prints what the findings mask. Mask before
    cutting an excerpt short: half a key no longer looks like one.

    Args:
        text: any text.
        options: what to detect (``PIIConfig.options()``); default: every kind.
    """
    if not _SCREEN_RE.search(text):  # the step's own screen: most texts hold nothing
        return text
    for span in reversed(find_spans(text, options)):
        text = text[: span.start] + mask(span.text) + text[span.end :]
    return text


def redact_frame(
    frame: pl.DataFrame, config: PIIConfig | None = None
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Replace every detected span in every message with its typed placeholder.

    Args:
        frame: records (``RECORD_SCHEMA``).
        config: what to detect; its ``action`` is not consulted (the caller decides to redact).

    Returns:
        The frame with redacted message contents (ids and every other column unchanged), and
        the number of spans redacted per kind.
    """
    options = (config or PIIConfig()).options()
    counts: Counter[str] = Counter()
    out = frame
    for col in MESSAGE_COLUMNS:
        screen = pl.col(col).list.eval(pl.element().struct.field("content").str.contains(_SCREEN))
        rows = frame.select(screen.list.any().fill_null(False)).to_series().arg_true()
        # Only the screened rows go through Python; they are patched back by row index.
        changed_rows, changed_values = [], []
        for row, messages in zip(rows.to_list(), frame[col].gather(rows).to_list(), strict=True):
            changed = False
            for message in messages:
                if message["content"] is None:  # a tool-call-only turn: no text to redact
                    continue
                spans: list[Span] = find_spans(message["content"], options)
                if spans:
                    counts.update(span.kind for span in spans)
                    message["content"] = redact(message["content"], spans)
                    changed = True
            if changed:
                changed_rows.append(row)
                changed_values.append(messages)
        if changed_rows:
            patch = pl.DataFrame(
                {
                    "_row": pl.Series(changed_rows, dtype=pl.UInt32),
                    "_new": pl.Series(changed_values, dtype=MESSAGES),
                }
            )
            out = (
                out.with_row_index("_row")
                .join(patch, on="_row", how="left", maintain_order="left")
                .with_columns(pl.coalesce("_new", col).alias(col))
                .select(frame.columns)
            )
    return out, dict(sorted(counts.items()))
