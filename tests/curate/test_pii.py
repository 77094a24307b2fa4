"""PII and secrets: each detector on true and false positives, the step's masked evidence, and
redaction of a real frame."""

from __future__ import annotations

import json

import polars as pl
import pytest
from pydantic import ValidationError

from curate.checks.pii import PIICheck, PIIConfig, redact_frame
from curate.checks.pii_spans import Options, find_spans, mask
from curate.checks.secrets import shannon_entropy
from curate.errors import ConfigError
from curate.pipeline.config import CurateConfig
from curate.records import Message, Record, Source, record_id, text_of, to_frame


def kinds(text: str, **options) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in find_spans(text, Options(**options) if options else None)]


# -- true positives ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("Write to john.doe@gmail.com today", "email", "john.doe@gmail.com"),
        ("Call (212) 684-4700 now", "phone_number", "(212) 684-4700"),
        ("Hotline: 1-800-273-8255.", "phone_number", "1-800-273-8255"),
        ("My phone: 9195570919", "phone_number", "9195570919"),
        ("Intl +44 20 7946 0958 office", "phone_number", "+44 20 7946 0958"),
        ("server 8.8.8.8 answered", "ip_address", "8.8.8.8"),
        ("router at 192.168.1.1.", "ip_address", "192.168.1.1"),
        ("dns 2001:4860:4860::8888 ok", "ip_address", "2001:4860:4860::8888"),
        ("card 4111 1111 1111 1111 exp 12/29", "credit_card", "4111 1111 1111 1111"),
        ("amex 3782-822463-10005", "credit_card", "3782-822463-10005"),
        ("pay to DE89 3704 0044 0532 0130 00 IS fine", "iban", "DE89 3704 0044 0532 0130 00"),
        ("GB82WEST12345698765432", "iban", "GB82WEST12345698765432"),
        (
            "OPENAI_KEY=sk-proj-abcDEF1234567890abcdefGHIJ",
            "api_key",
            "sk-proj-abcDEF1234567890abcdefGHIJ",
        ),
        ("aws AKIAIOSFODNN7EXAMPLE here", "api_key", "AKIAIOSFODNN7EXAMPLE"),
        (
            "gh ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
            "api_key",
            "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        ),
        ("slack xoxb-12345678901-abcdefghij", "api_key", "xoxb-12345678901-abcdefghij"),
        (
            "g AIzaSyA1234567890abcdefghijklmnopqrstuv",
            "api_key",
            "AIzaSyA1234567890abcdefghijklmnopqrstuv",
        ),
        (
            "hf hf_abcdefghijklmnopqrstuvwxyzABCDEF",
            "api_key",
            "hf_abcdefghijklmnopqrstuvwxyzABCDEF",
        ),
        (
            "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFU",
            "jwt",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFU",
        ),
        ('"password": "Pass1234"', "credential", "Pass1234"),
        (
            "aws_secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end",
            "high_entropy",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
    ],
)
def test_true_positives(text: str, kind: str, value: str) -> None:
    assert (kind, value) in kinds(text)


def test_private_key_block_is_one_span() -> None:
    block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
    spans = find_spans(f"key:\n{block}\nthanks")
    assert [(s.kind, s.text) for s in spans] == [("private_key", block)]


# -- false positives ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Upgrade to version 1.2.3.4 today",  # a version, not an address
        "Python 3.11.4.1 was released",
        "Mask 255.255.255.0 and loopback 127.0.0.1, docs 192.0.2.15",  # identify no machine
        "999.12.1.1 is not an address; neither is 01.02.03.04",
        "It is 12:30:45 and the ratio is 3:2:1",  # not IPv6
        "Write to jane@example.com or bob@mail.example.org or x@host.test",  # reserved domains
        "Order number 4111 1111 1111 1111 shipped",  # an order number, however Luhn-valid
        "5309 7677 8244 1346 fails the Luhn check",
        "256626720691 + 1646615806005 = 4212883012996",  # a sum, not a card
        "8462735194\n5267357841\n1948571236",  # a sudoku grid, not phone numbers
        "1. qwerty\n7.  123456789\n8. 1234567",  # list numbers, not phones
        "pi is 3.14159265358979323846264338327950288",
        "snake_case_identifier_names_are_long_but_fine and CamelCaseIdentifiersAreFineToo",
        "https://docs.google.com/spreadsheets/d/1H8SOqhJQA1ySvYMOoIay8gJoL-jK0Rv4/edit",
        "api_key = YOUR_API_KEY and token = os.environ['TOKEN'] and password: <password>",
        "The desk-top task-based sk-learn",
    ],
)
def test_false_positives(text: str) -> None:
    assert kinds(text) == []


def test_options_change_what_counts() -> None:
    assert kinds("router 192.168.1.1", ip_scopes=frozenset({"global"})) == []
    assert kinds("to bob@example.com", ignore_example_domains=False) == [
        ("email", "bob@example.com")
    ]
    assert kinds("me@x.org 8.8.8.8", kinds=frozenset({"email"})) == [("email", "me@x.org")]
    # A specific detector wins an overlap: the JWT is not also a high-entropy string.
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N"
    assert [k for k, _ in kinds(jwt)] == ["jwt"]
    with pytest.raises(ValidationError, match="unknown kind"):
        PIIConfig(kinds=("email", "passport"))
    with pytest.raises(ConfigError, match=r"pii.severity.*unknown reason"):
        CurateConfig.from_data({"pii": {"severity": {"pii_passport": "drop"}}})


def test_entropy_and_mask() -> None:
    assert shannon_entropy("aaaa") == 0
    assert shannon_entropy("abcd") == 2
    assert mask("john.doe@gmail.com") == "jo**************om"
    assert mask("abc") == "***"


# -- the step and redaction --------------------------------------------------------------------


def _records() -> pl.DataFrame:
    def rec(
        row: int, prompt: str, answer: str = "", chosen: str = "", rejected: str = ""
    ) -> Record:
        user = [Message(role="user", content=prompt)]
        if chosen or rejected:
            return Record(
                id=record_id(f"{row}"),
                kind="preference",
                prompt=user,
                chosen=[Message(role="assistant", content=chosen)],
                rejected=[Message(role="assistant", content=rejected)],
                source=Source(file="t", row=row),
            )
        return Record(
            id=record_id(f"{row}"),
            kind="sft",
            prompt=user,
            completion=[Message(role="assistant", content=answer)],
            source=Source(file="t", row=row),
        )

    return to_frame(
        [
            rec(
                0,
                "Email me at john.doe@gmail.com",
                "Sure, call (212) 684-4700 or mail john.doe@gmail.com.",
            ),
            rec(
                1,
                "Store my key",
                chosen="Done.",
                rejected="Your key sk-proj-abcDEF1234567890abcdefGHIJ is saved.",
            ),
            rec(2, "What is 2+2?", "4"),
        ]
    )


def test_step_findings_are_masked_and_name_the_side() -> None:
    result = PIICheck().run(_records())
    got = {
        (r["row"], r["reason"], json.loads(r["evidence"])["side"])
        for r in result.findings.iter_rows(named=True)
    }
    assert got == {
        (0, "pii_email", "prompt"),
        (0, "pii_email", "completion"),
        (0, "pii_phone_number", "completion"),
        (1, "secret_api_key", "rejected"),
    }
    evidence = " ".join(result.findings["evidence"])
    assert "john.doe@gmail.com" not in evidence and "sk-proj-abcDEF" not in evidence
    key = json.loads(result.findings.filter(pl.col("reason") == "secret_api_key")["evidence"][0])
    assert key["spans"][0]["provider"] == "openai_or_anthropic" and key["spans"][0]["start"] == 9
    assert result.figures.spans_by_kind["email"] == 2
    assert result.figures.records_flagged == 2


def test_redact_frame_replaces_spans_with_typed_placeholders() -> None:
    frame = _records()
    redacted, counts = redact_frame(frame)
    assert counts == {"api_key": 1, "email": 2, "phone_number": 1}
    rows = redacted.to_dicts()
    assert text_of(rows[0]["prompt"]) == "Email me at <EMAIL>"
    assert text_of(rows[0]["completion"]) == "Sure, call <PHONE> or mail <EMAIL>."
    assert text_of(rows[1]["rejected"]) == "Your key <API_KEY> is saved."
    assert text_of(rows[1]["chosen"]) == "Done."
    # Ids, schema and untouched rows are unchanged; the redacted frame has nothing left to find.
    assert redacted["id"].to_list() == frame["id"].to_list()
    assert redacted.schema == frame.schema
    assert redacted.row(2) == frame.row(2)
    assert PIICheck().run(redacted).findings.is_empty()


def test_real_data(shared_data) -> None:
    import curate

    records = curate.read_dataset(shared_data / "alpaca_random_9k.json").records
    result = PIICheck().run(records)
    spans = result.figures.spans_by_kind
    # Alpaca's real hits: phone numbers (hotlines, a bank), 192.168.x.x, a password in JSON,
    # one gmail address; its example.com addresses and its two card-like numbers (which fail
    # the Luhn check) are rightly not reported.
    assert spans["phone_number"] >= 5 and spans["ip_address"] >= 2
    assert spans["email"] >= 1 and spans["credential"] >= 1
    assert spans["credit_card"] == 0 and spans["high_entropy"] == 0
    hh = curate.read_dataset(shared_data / "hh_rlhf_harmless_base_test.jsonl.gz").records
    found = PIICheck().run(hh).findings
    sides = {json.loads(e)["side"] for e in found["evidence"]}
    assert {"prompt", "chosen", "rejected"} <= sides
