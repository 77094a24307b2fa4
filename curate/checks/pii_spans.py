"""Finding personal data and secrets in one text: typed spans, each validated beyond its pattern.

A pattern proposes a candidate; a validator decides: ``phonenumbers`` for phone numbers,
``ipaddress`` for IP addresses, the Luhn checksum and the issuer prefix (``python-stdnum``) for
card numbers, ``stdnum.iban`` for IBANs. Secrets (keys, tokens, high-entropy strings) come from
``curate/secret_detect.py``. Spans never overlap: the more specific detector wins (a JWT is not
also a high-entropy string).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from curate.checks.secrets import secret_spans

KINDS = (
    "private_key",
    "jwt",
    "api_key",
    "credential",
    "email",
    "iban",
    "credit_card",
    "ip_address",
    "phone_number",
    "high_entropy",
)
"""Every kind, in precedence order (earlier kinds win overlaps)."""

PLACEHOLDERS = {
    "private_key": "<PRIVATE_KEY>",
    "jwt": "<JWT>",
    "api_key": "<API_KEY>",
    "credential": "<SECRET>",
    "email": "<EMAIL>",
    "iban": "<IBAN>",
    "credit_card": "<CREDIT_CARD>",
    "ip_address": "<IP_ADDRESS>",
    "phone_number": "<PHONE>",
    "high_entropy": "<SECRET>",
}
"""What redaction writes in place of each kind."""


@dataclass(frozen=True)
class Span:
    """One detected item: its kind, where it is, its text, and what the validator said."""

    kind: str
    start: int
    end: int
    text: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Options:
    """The knobs of detection (``PIIConfig`` maps onto these)."""

    kinds: frozenset[str] = frozenset(KINDS)
    phone_region: str = "US"
    ignore_example_domains: bool = True
    ip_scopes: frozenset[str] = frozenset({"global", "private"})
    entropy_threshold: float = 4.0
    entropy_min_length: int = 20


# --- personal data -----------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}\b"
)
# RFC 2606 / 6761 names reserved for examples: nobody's address.
_EXAMPLE_DOMAIN = re.compile(
    r"(?:^|\.)(?:example\.(?:com|org|net)|[\w-]+\.(?:example|test|invalid|localhost))$", re.I
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_CARD = re.compile(r"(?<![\d.,-])\d(?:[ -]?\d){12,18}(?![\d.,]\d|-\d)")
# Issuer prefixes (IIN ranges) and lengths of the networks whose numbers are worth hiding.
_CARD_NETWORKS = (
    ("visa", r"4", (16, 19)),
    ("mastercard", r"5[1-5]|2(?:2[2-9]\d|[3-6]\d\d|7[01]\d|720)", (16,)),
    ("amex", r"3[47]", (15,)),
    ("discover", r"6(?:011|4[4-9]|5)", (16, 17, 18, 19)),
    ("jcb", r"35(?:2[89]|[3-8])", (16, 17, 18, 19)),
    ("diners", r"3(?:0[0-5]|[68]|9)", (14, 15, 16, 17, 18, 19)),
    ("unionpay", r"62", (16, 17, 18, 19)),
)
# "Order number 4111 ..." and friends: a long Luhn-valid number that names no card.
_NOT_A_CARD_CONTEXT = re.compile(
    r"(?i)\b(?:order|invoice|tracking|isbn|serial|transaction|confirmation|reference|ref|"
    r"account|routing|imei|upc|ean|phone|tel)\b[^\n\d]{0,20}$"
)
# "256626720691 + 1646615806005 = 4212883012996": a sum, whatever its checksum says.
_ARITHMETIC = re.compile(r"[+*/=×÷^]")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
# A loose IPv6 candidate (hex and colons, "::" anywhere); ``ipaddress`` decides ("12:30:45" no).
_IPV6 = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:)[0-9A-Fa-f:]{3,39}(?![\w:])")
_VERSION_CONTEXT = re.compile(
    r"(?i)(?:\bv|\bversion|\bver\.?|\brelease|\bbuild|\bsection|\bchapter|§|\bstep|\brule|"
    r"\bfigure|\btable|\bpython|\bnode|\bjava)\s*$"
)
_PHONE_CONTEXT = re.compile(
    r"(?i)\b(?:phone|tel|telephone|call|mobile|cell|fax|contact|sms|text|whatsapp)\b\D{0,20}$"
)


def _card_network(digits: str) -> str | None:
    for name, prefix, lengths in _CARD_NETWORKS:
        if len(digits) in lengths and re.match(prefix, digits):
            return name
    return None


_DOCUMENTATION = tuple(
    ipaddress.ip_network(net)
    for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
"""Address blocks reserved for documentation (RFC 5737, 3849): examples, nobody's machine."""


def _ip_scope(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """``global`` or ``private``, or None for addresses that identify no machine."""
    if (
        address.is_loopback
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or address.is_link_local
    ):
        return None
    if any(address.version == net.version and address in net for net in _DOCUMENTATION):
        return None
    return "private" if address.is_private else "global"


def _candidates(text: str, opts: Options) -> Iterator[Span]:
    kinds = opts.kinds
    for kind, start, end, value, detail in secret_spans(
        text, kinds, opts.entropy_threshold, opts.entropy_min_length
    ):
        yield Span(kind, start, end, value, detail)
    if "email" in kinds and "@" in text:
        for m in _EMAIL.finditer(text):
            domain = m.group(0).rsplit("@", 1)[1]
            if not (opts.ignore_example_domains and _EXAMPLE_DOMAIN.search(domain)):
                yield Span("email", m.start(), m.end(), m.group(0), {"domain": domain.lower()})
    if "iban" in kinds:
        yield from _ibans(text)
    if "credit_card" in kinds:
        for m in _CARD.finditer(text):
            digits = re.sub(r"\D", "", m.group(0))
            network = _card_network(digits)
            around = text[max(0, m.start() - 3) : m.start()] + text[m.end() : m.end() + 3]
            if _ARITHMETIC.search(around) or _NOT_A_CARD_CONTEXT.search(
                text[max(0, m.start() - 40) : m.start()]
            ):
                continue
            if network and _luhn(digits):
                yield Span("credit_card", m.start(), m.end(), m.group(0), {"network": network})
    if "ip_address" in kinds:
        yield from _ips(text, opts)
    if "phone_number" in kinds:
        yield from _phones(text, opts)


def _luhn(digits: str) -> bool:
    from stdnum import luhn

    return luhn.is_valid(digits)


def _ibans(text: str) -> Iterator[Span]:
    from stdnum import iban

    for m in _IBAN.finditer(text):
        candidate = m.group(0)
        # The pattern may run into a following capitalised word: shorten until it validates.
        while len(candidate.replace(" ", "")) >= 15:
            if iban.is_valid(candidate):
                yield Span(
                    "iban",
                    m.start(),
                    m.start() + len(candidate),
                    candidate,
                    {"country": candidate[:2]},
                )
                break
            candidate = candidate[:-1].rstrip()


def _ips(text: str, opts: Options) -> Iterator[Span]:
    for pattern in (_IPV4, _IPV6) if ":" in text else (_IPV4,):
        for m in pattern.finditer(text):
            if _VERSION_CONTEXT.search(text[max(0, m.start() - 12) : m.start()]):
                continue  # "version 1.2.3.4", "v10.0.0.1": a version, not an address
            try:
                address = ipaddress.ip_address(m.group(0))
            except ValueError:
                continue  # 999.1.1.1, leading zeros, 12:30:45
            scope = _ip_scope(address)
            if scope in opts.ip_scopes:
                yield Span(
                    "ip_address",
                    m.start(),
                    m.end(),
                    m.group(0),
                    {"version": address.version, "scope": scope},
                )


# Where a phone number could be: 7+ digits with phone punctuation between them. The matcher
# (slow: it tries every number-like run) then only reads these windows.
_PHONE_WINDOW = re.compile(r"\+?\(?\d[\d\s().\-/]{5,20}\d")


def _phones(text: str, opts: Options) -> Iterator[Span]:
    import phonenumbers

    for window in _PHONE_WINDOW.finditer(text):
        if sum(ch.isdigit() for ch in window.group(0)) < 7:
            continue
        matcher = phonenumbers.PhoneNumberMatcher(
            window.group(0), opts.phone_region, leniency=phonenumbers.Leniency.VALID
        )
        for match in matcher:
            start, end = window.start() + match.start, window.start() + match.end
            raw = match.raw_string
            if re.match(r"\d{1,2}\.\s", raw):
                continue  # "7.  123456789": a list item's number glued to a number
            # A bare run of digits ("5267357841" in a sudoku grid) is a phone number only when
            # the text says so just before it; "(212) 684-4700" stands on its own.
            formatted = re.search(r"[\s().+-]", raw.strip()) is not None
            if not formatted and not _PHONE_CONTEXT.search(text[max(0, start - 40) : start]):
                continue
            detail = {
                "region": phonenumbers.region_code_for_number(match.number),
                "type": _PHONE_TYPES.get(phonenumbers.number_type(match.number), "other"),
            }
            yield Span("phone_number", start, end, raw, detail)


_PHONE_TYPES = {
    0: "fixed_line",
    1: "mobile",
    2: "fixed_line_or_mobile",
    3: "toll_free",
    4: "premium_rate",
    6: "voip",
}


def find_spans(text: str, opts: Options | None = None) -> list[Span]:
    """Every personal-data or secret span in a text, non-overlapping, in text order."""
    opts = opts or Options()
    chosen: list[Span] = []
    for span in sorted(_candidates(text, opts), key=lambda s: (KINDS.index(s.kind), s.start)):
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def redact(text: str, spans: list[Span]) -> str:
    """The text with each span replaced by its kind's placeholder (``<EMAIL>``)."""
    for span in sorted(spans, key=lambda s: s.start, reverse=True):
        text = text[: span.start] + PLACEHOLDERS[span.kind] + text[span.end :]
    return text


def mask(value: str) -> str:
    """A value with its middle hidden, for evidence: ``jo***********om``."""
    keep = 2 if len(value) > 8 else 1 if len(value) > 3 else 0
    return value[:keep] + "*" * (len(value) - 2 * keep) + (value[-keep:] if keep else "")
