"""Nothing the user brings is lost: every shape goes in and comes back out field by field —
whole conversations with tool calls and tool results, KTO labels, prompt-only rows, extra
columns and extra message keys, OpenAssistant trees, save_to_disk folders and in-memory frames."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from curate import read_dataset, write_records
from curate.io.ingest import read_source
from curate.io.read import read_rows
from curate.io.shapes import SHAPES_BY_NAME
from curate.io.writers import WRITTEN_COLUMNS
from curate.records import from_frame

TOOL_ROW = {
    "id": "conv-7",
    "source": "support-logs",
    "quality": 0.93,
    "tags": ["weather", "tools"],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ],
    "messages": [
        {"role": "system", "content": "You are a weather assistant."},
        {"role": "user", "content": "Weather in Wellington and Oslo?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Wellington"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "18C"},
        {"role": "tool", "tool_call_id": "call_2", "name": "get_weather", "content": "-2C"},
        {"role": "assistant", "content": "Wellington is 18C; Oslo is -2C.", "weight": 1},
        {"role": "user", "content": "Thanks! Which is warmer?"},
        {"role": "assistant", "content": "Wellington."},
    ],
}


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _out_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_tool_call_conversation_comes_back_whole(tmp_path: Path) -> None:
    read = read_dataset(_jsonl(tmp_path / "tools.jsonl", [TOOL_ROW]))
    assert (read.shape, len(read.records), len(read.rejects)) == ("openai", 1, 0)
    (record,) = from_frame(read.records)
    assert record.kind == "sft" and len(record.conversation) == len(TOOL_ROW["messages"])
    assert record.tools == TOOL_ROW["tools"]
    assert record.meta["input"] == {k: TOOL_ROW[k] for k in ("id", "source", "quality", "tags")}

    out = write_records(read.records, tmp_path / "out.jsonl")
    (row,) = _out_rows(out)
    # TRL's prompt/completion: together the whole conversation, every key as given
    assert row["prompt"] + row["completion"] == TOOL_ROW["messages"]
    assert row["tools"] == TOOL_ROW["tools"]
    # the user's own "id" column comes back under its name prefixed (ours is the record id)
    assert row["input_id"] == "conv-7" and row["id"] == record.id
    assert {k: row[k] for k in ("source", "quality", "tags")} == {
        k: TOOL_ROW[k] for k in ("source", "quality", "tags")
    }


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_written_records_read_back_identical(
    tmp_path: Path, shared_data: Path, suffix: str
) -> None:
    frames = [
        read_dataset(_jsonl(tmp_path / "tools.jsonl", [TOOL_ROW])).records,
        read_dataset(shared_data / "bfcl_simple_multiple_openai.jsonl").records.head(40),
        read_dataset(shared_data / "oasst_en_100_tree.jsonl").records.head(60),
        read_dataset(shared_data / "dpo_en_demo.json").records.head(10),
        read_dataset(_jsonl(tmp_path / "kto.jsonl", KTO_ROWS)).records,
    ]
    frame = pl.concat(frames)
    back = read_dataset(write_records(frame, tmp_path / f"all{suffix}")).records
    compare = [c for c in frame.columns if c not in ("source_file", "row", "line")]
    assert back.select(compare).to_dicts() == frame.select(compare).to_dicts()


KTO_ROWS = [
    {"prompt": "Name a prime.", "completion": "7", "label": True, "rater": "a"},
    {"prompt": "Name a prime.", "completion": "9", "label": False, "rater": "b"},
    {"prompt": "Name a prime.", "completion": "9", "label": True, "rater": "c"},
    {"prompt": "Capital of France?", "completion": "Paris.", "label": "true"},
]


def test_kto_rows_keep_their_label_and_stay_apart_in_curation(tmp_path: Path) -> None:
    import curate
    from curate.pipeline.config import CurateConfig

    read = read_dataset(_jsonl(tmp_path / "kto.jsonl", KTO_ROWS))
    assert read.shape == "kto"
    assert read.records["label"].to_list() == [True, False, True, True]
    assert read.records["kind"].unique().to_list() == ["kto"]
    # the same completion judged both ways is two records, never merged as copies
    config = CurateConfig.model_validate(
        {k: {"enabled": False} for k in ("semantic", "contradictions", "diversity")}
    )
    result = curate.run(read.records, config, out_dir=tmp_path / "run")
    assert result.n_dropped == 0
    assert result.kept_by_kind == {"kto_desirable": 3, "kto_undesirable": 1}
    assert result.kept["label"].to_list() == [True, False, True, True]
    out = _out_rows(write_records(result.kept, tmp_path / "kto_out.jsonl"))
    assert [r["label"] for r in out] == [True, False, True, True]
    assert [r.get("rater") for r in out] == ["a", "b", "c", None]


def test_prompt_only_rows_are_a_kind(tmp_path: Path) -> None:
    rows = [
        {"prompt": "Write a haiku about rain.", "lang": "en"},
        {"prompt": [{"role": "user", "content": "Hi"}]},
    ]
    read = read_dataset(_jsonl(tmp_path / "prompts.jsonl", rows))
    assert (read.shape, read.records["kind"].to_list()) == ("prompt_only", ["prompt", "prompt"])
    out = _out_rows(write_records(read.records, tmp_path / "p.jsonl"))
    assert out[0]["prompt"] == [{"role": "user", "content": "Write a haiku about rain."}]
    assert out[0]["lang"] == "en" and "completion" not in out[0]
    # a conversation that ends on the user's turn is a prompt too (a pool for synthesis)
    chat = read_dataset(
        _jsonl(tmp_path / "chat.jsonl", [{"messages": [{"role": "user", "content": "Q?"}]}])
    )
    assert chat.records["kind"].to_list() == ["prompt"]


def test_sharegpt_multi_turn_with_function_calls_keeps_every_turn(tmp_path: Path) -> None:
    row = {
        "conversations": [
            {"from": "human", "value": "What is 2+3? Use the tool."},
            {"from": "function_call", "value": '{"name": "add", "arguments": {"a": 2, "b": 3}}'},
            {"from": "observation", "value": "5"},
            {"from": "gpt", "value": "2+3 is 5."},
            {"from": "human", "value": "And doubled?"},
            {"from": "gpt", "value": "10."},
        ],
        "tools": '[{"name": "add", "parameters": {"type": "object"}}]',
        "system": "Be brief.",
    }
    (record,) = from_frame(read_dataset(_jsonl(tmp_path / "s.jsonl", [row])).records)
    roles = [m.role for m in record.conversation]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user", "assistant"]
    call = record.conversation[2].tool_calls[0]  # type: ignore[index]
    assert (call.name, json.loads(call.arguments)) == ("add", {"a": 2, "b": 3})
    assert record.tools == [{"name": "add", "parameters": {"type": "object"}}]


def _flat(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _flat(v)]
    if isinstance(value, list):
        return [s for v in value for s in _flat(v)]
    return [] if value is None else [str(value)]


SHAPE_ROWS: dict[str, dict[str, Any]] = {
    "alpaca": {"instruction": "Sum 2 and 2.", "input": "Show work.", "output": "4", "src": "x"},
    "sharegpt": {
        "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"}],
        "id": 3,
    },
    "openai": TOOL_ROW,
    "prompt_completion": {"prompt": "2+2?", "completion": "4", "score": 5},
    "prompt_response": {"prompt": "2+2?", "response": "4", "lang": "en"},
    "preference": {"prompt": "2+2?", "chosen": "4", "rejected": "5", "margin": 1.5},
    "kto": {"prompt": "2+2?", "completion": "5", "label": False, "who": "rater-1"},
    "prompt_only": {"prompt": "Tell me a joke.", "topic": "humour"},
    "hh_rlhf": {
        "chosen": "\n\nHuman: Hi\n\nAssistant: Hello there.",
        "rejected": "\n\nHuman: Hi\n\nAssistant: Go away.",
        "split": "test",
    },
}


@pytest.mark.parametrize("shape", sorted(SHAPE_ROWS))
def test_every_shape_round_trips_field_by_field(tmp_path: Path, shape: str) -> None:
    row = SHAPE_ROWS[shape]
    read = read_dataset(_jsonl(tmp_path / "in.jsonl", [row]), shape=shape)
    assert (len(read.records), len(read.rejects)) == (1, 0)
    (out,) = _out_rows(write_records(read.records, tmp_path / "out.jsonl"))
    text = "\n".join(_flat(out))
    reads = SHAPES_BY_NAME[shape].reads
    for key, value in row.items():
        if key not in reads:  # an extra column comes back as it was, under its name
            assert out[f"input_{key}" if key in WRITTEN_COLUMNS else key] == value, key
            continue
        # a field the shape reads: every value it held is in the output (roles are renamed)
        for part in _flat(_without_roles(value)):
            text_part = str(part).replace("\n\nHuman: ", "\n").replace("\n\nAssistant: ", "\n")
            for piece in text_part.split("\n"):
                assert piece.strip() in text, (key, piece)


def _without_roles(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_roles(v) for k, v in value.items() if k not in ("from", "role")}
    if isinstance(value, list):
        return [_without_roles(v) for v in value]
    return value


def test_oasst_trees_become_conversations_and_ranked_pairs(shared_data: Path) -> None:
    read = read_dataset(shared_data / "oasst_en_100_tree.jsonl")
    assert read.shape == "oasst" and read.n_rows == 100 and len(read.rejects) == 0
    records = from_frame(read.records)
    sft = [r for r in records if r.kind == "sft"]
    assert all(len(r.completion or []) == 1 for r in sft)
    pairs = [r for r in records if r.kind == "preference"]
    assert sft and pairs
    for pair in pairs:  # the chosen reply is ranked better (lower) than the rejected one
        assert pair.chosen[0].extra["rank"] < pair.rejected[0].extra["rank"]  # type: ignore[index]
        assert pair.chosen[0].extra["parent_id"] == pair.prompt[-1].extra["message_id"]  # type: ignore[index]
    # every message of every tree is in some record, its id kept
    seen = {
        m.extra["message_id"]  # type: ignore[index]
        for r in records
        for m in [*r.prompt, *(r.completion or []), *(r.chosen or []), *(r.rejected or [])]
    }
    tree_ids = set()
    for line in (shared_data / "oasst_en_100_tree.jsonl").read_text().splitlines():
        stack = [json.loads(line)["prompt"]]
        while stack:
            node = stack.pop()
            tree_ids.add(node["message_id"])
            stack.extend(node.get("replies") or [])
    assert seen == tree_ids
    # a question nobody answered is a prompt record (a pool for synthesis)
    assert any(r.kind == "prompt" for r in records)


def test_save_to_disk_folders_and_arrow_files_read(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    rows = [{"prompt": f"Q{i}?", "completion": f"A{i}.", "source": "s"} for i in range(30)]
    folder = tmp_path / "ds"
    datasets.Dataset.from_list(rows).save_to_disk(str(folder))
    read = read_source(folder)
    assert (read.file_type, len(read.records), len(read.rejects)) == ("arrow", 30, 0)
    assert json.loads(read.records["meta"][0]) == {"input": {"source": "s"}}
    arrow = next(folder.glob("*.arrow"))
    assert len(read_dataset(arrow).records) == 30
    dd = tmp_path / "dd"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows)}).save_to_disk(str(dd))
    from curate.errors import DatasetFormatError

    with pytest.raises(DatasetFormatError, match="pass one split's folder"):
        read_source(dd)
    assert len(read_source(dd / "train").records) == 30


def test_frames_of_raw_rows_go_through_the_row_pipeline(tmp_path: Path) -> None:
    import curate
    from curate.pipeline.config import CurateConfig

    rows = [
        {"instruction": f"Say {w}.", "output": f"{w}.", "team": "a"} for w in ("yes", "no", "maybe")
    ]
    polars_frame = pl.DataFrame(rows)
    pandas = pytest.importorskip("pandas")
    config = CurateConfig.model_validate(
        {k: {"enabled": False} for k in ("semantic", "contradictions", "diversity")}
    )
    expected = read_rows(rows).records["id"].to_list()
    sources: list[Any] = [polars_frame, pandas.DataFrame(rows), rows]
    datasets = pytest.importorskip("datasets")
    sources.append(datasets.Dataset.from_list(rows))
    for i, source in enumerate(sources):
        result = curate.run(source, config, out_dir=tmp_path / f"r{i}")
        assert result.kept["id"].to_list() == expected, type(source)
        assert json.loads(result.kept["meta"][0])["input"] == {"team": "a"}


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TUNESMITH_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_a_forced_format_that_rejects_every_row_exits_2(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "a.jsonl", [{"instruction": "x", "output": "y"}] * 3)
    out = _cli("ingest", str(path), "--format", "kto", home=tmp_path / "home")
    assert out.returncode == 2, out.stderr
    assert "--format kto rejects every row" in out.stderr and "missing_field" in out.stderr


def test_ingest_reads_a_folder_of_shards(tmp_path: Path) -> None:
    folder = tmp_path / "shards"
    folder.mkdir()
    _jsonl(folder / "a.jsonl", [{"prompt": "p1", "completion": "c1"}])
    _jsonl(
        folder / "b.jsonl",
        [{"prompt": "p2", "completion": "c2"}, {"prompt": "p1", "completion": "c1"}],
    )
    out = _cli("ingest", str(folder), "--json", home=tmp_path / "home")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert (info["n_rows"], info["n_records"], info["file_type"]) == (3, 3, "shards")


BAD_ROWS = [
    (
        "bad_tool_arguments",
        {
            "messages": [
                {"role": "user", "content": "q"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{not json"},
                        }
                    ],
                },
            ]
        },
    ),
    (
        "role_cannot_carry",
        {
            "messages": [
                {
                    "role": "user",
                    "content": "q",
                    "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}],
                },
                {"role": "assistant", "content": "a"},
            ]
        },
    ),
    (
        "null_text",
        {
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": None}]},
                {"role": "assistant", "content": "a"},
            ]
        },
    ),
    (
        "null_text",
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": None}]},
    ),
    (
        "control_characters",
        {"messages": [{"role": "user", "content": "q\x00"}, {"role": "assistant", "content": "a"}]},
    ),
]


def test_malformed_messages_are_rejects_naming_the_field(tmp_path: Path) -> None:
    good = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    rows = [good, *(r for _, r in BAD_ROWS)]
    read = read_dataset(_jsonl(tmp_path / "bad.jsonl", rows))
    assert len(read.records) == 1
    assert read.rejects["reason"].to_list() == [r for r, _ in BAD_ROWS]
    details = read.rejects["detail"].to_list()
    assert "messages[1].tool_calls[0].function.arguments" in details[0]
    assert "messages[0]" in details[1] and "tool_calls" in details[1]
    pair = read_dataset(
        _jsonl(tmp_path / "p.jsonl", [{"prompt": "q", "chosen": "a", "rejected": "a"}])
    )
    assert pair.rejects["reason"].to_list() == ["identical_pair"]


USER_HI = {"role": "user", "content": "Hi"}


def test_a_records_row_without_a_known_kind_is_a_reject(tmp_path: Path) -> None:
    rows = [
        {
            "kind": "sft",
            "prompt": [USER_HI],
            "completion": [{"role": "assistant", "content": "Yo"}],
        },
        {"prompt": [USER_HI]},
        {"kind": "banana", "prompt": [USER_HI]},
    ]
    path = tmp_path / "kinds.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    read = read_dataset(path, shape="records")
    assert len(read.records) == 1
    assert read.rejects["reason"].to_list() == ["unknown_kind", "unknown_kind"]
    assert "'banana'" in read.rejects["detail"][1]
