"""The tool-call check on real BFCL function-calling rows: planted wrong function names,
schema-invalid arguments, orphan and missing tool results and duplicate call ids are found, and
no valid row is flagged (precision and recall measured on the same real rows)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from curate import read_dataset
from curate.checks.tool_calls import ToolCallCheck

BFCL = "bfcl_simple_multiple_openai.jsonl"


@pytest.fixture(scope="module")
def bfcl_rows(shared_data: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (shared_data / BFCL).read_text().splitlines()]


def _check(rows: list[dict[str, Any]], tmp_path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    read = read_dataset(path)
    assert len(read.rejects) == 0
    result = ToolCallCheck().run(read.records)
    return read.records, result.findings


def test_the_real_file_flags_only_its_one_invalid_call(shared_data: Path) -> None:
    read = read_dataset(shared_data / BFCL)
    result = ToolCallCheck().run(read.records)
    assert result.figures.records_with_calls == 600 and result.figures.calls == 600
    # SOURCES.md: 599 of the 600 calls validate against their tool; the one that does not
    # passes a boolean where the schema wants a string
    (finding,) = result.findings.to_dicts()
    evidence = json.loads(finding["evidence"])
    assert finding["reason"] == "invalid_arguments" and finding["row"] == 307
    assert evidence["function"] == "game_result.get_winner" and "venue" in evidence["error"]


def _call(row: dict[str, Any]) -> dict[str, Any]:
    return row["messages"][1]["tool_calls"][0]


def _schema(row: dict[str, Any]) -> dict[str, Any]:
    name = _call(row)["function"]["name"]
    return next(t["function"] for t in row["tools"] if t["function"]["name"] == name)["parameters"]


def _plant(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """Defects planted in copies of real rows; the planted row's index → the reason expected."""
    out, expected = [], {}
    for i, original in enumerate(rows):
        row = copy.deepcopy(original)
        kind = i % 6
        call = _call(row)
        if kind == 0:  # a function the row's tools do not define
            call["function"]["name"] += "_v2"
            expected[len(out)] = "unknown_function"
        elif kind == 1:  # a required argument left out
            args = json.loads(call["function"]["arguments"])
            required = _schema(row).get("required") or []
            if not required:
                continue
            args.pop(required[0], None)
            call["function"]["arguments"] = json.dumps(args)
            expected[len(out)] = "invalid_arguments"
        elif kind == 2:  # an argument of the wrong type
            args = json.loads(call["function"]["arguments"])
            props = _schema(row).get("properties") or {}
            name = next((k for k in args if props.get(k, {}).get("type") == "integer"), None)
            if name is None:
                continue
            args[name] = "many"
            call["function"]["arguments"] = json.dumps(args)
            expected[len(out)] = "invalid_arguments"
        elif kind == 3:  # a tool result answering a call that was never made
            row["messages"] += [
                {"role": "tool", "tool_call_id": "call_9", "content": "42"},
                {"role": "assistant", "content": "Done."},
            ]
            expected[len(out)] = "orphan_tool_result"
        elif kind == 4:  # the conversation goes on but the call is never answered
            row["messages"] += [
                {"role": "user", "content": "Any news?"},
                {"role": "assistant", "content": "Not yet."},
            ]
            expected[len(out)] = "unanswered_call"
        else:  # a well-formed multi-turn exchange: the call answered, then a final answer
            row["messages"] += [
                {"role": "tool", "tool_call_id": call["id"], "content": "result"},
                {"role": "assistant", "content": "Here is the result."},
            ]
        out.append(row)
    return out, expected


def test_planted_defects_are_found_and_clean_rows_are_not(
    bfcl_rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    clean = [r for i, r in enumerate(bfcl_rows) if i != 307][:240]
    planted, expected = _plant(clean)
    records, findings = _check(planted, tmp_path)
    reasons_by_row: dict[int, set[str]] = {}
    for f in findings.to_dicts():
        reasons_by_row.setdefault(f["row"], set()).add(f["reason"])
    index_of_row = {row: i for i, row in enumerate(records["row"].to_list())}
    found = {index_of_row[row]: reasons for row, reasons in reasons_by_row.items()}
    assert len(expected) >= 150
    missed = {i: r for i, r in expected.items() if r not in found.get(i, set())}
    false = {i: r for i, r in found.items() if i not in expected}
    assert missed == {} and false == {}


def test_duplicate_ids_and_anonymous_calls(tmp_path: Path) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]

    def call(i: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "function", "function": {"name": "f", "arguments": "{}"}}
        return out if i is None else {"id": i, **out}

    rows = [
        {  # one id used twice
            "tools": tools,
            "messages": [
                {"role": "user", "content": "go"},
                {"role": "assistant", "content": None, "tool_calls": [call("a"), call("a")]},
                {"role": "tool", "tool_call_id": "a", "content": "1"},
                {"role": "assistant", "content": "ok"},
            ],
        },
        {  # calls without ids, each answered in order: fine
            "tools": tools,
            "messages": [
                {"role": "user", "content": "go"},
                {"role": "assistant", "content": None, "tool_calls": [call(None), call(None)]},
                {"role": "tool", "content": "1"},
                {"role": "tool", "content": "2"},
                {"role": "assistant", "content": "ok"},
            ],
        },
        {  # a tool result with no call before it
            "messages": [
                {"role": "user", "content": "go"},
                {"role": "tool", "content": "1"},
                {"role": "assistant", "content": "ok"},
            ],
        },
    ]
    _, findings = _check(rows, tmp_path)
    assert sorted(zip(findings["row"], findings["reason"], strict=True)) == [
        (0, "duplicate_call_id"),
        (2, "orphan_tool_result"),
    ]
