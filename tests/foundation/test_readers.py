"""Readers: every shape, every file type, and exact accounting of rejected rows."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from curate import DatasetFormatError, InputError, read_dataset
from curate.io.shapes import parse_transcript
from curate.records import from_frame


def _jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _one(path: Path, **kw):
    result = read_dataset(path, **kw)
    assert len(result.rejects) == 0, result.rejects.to_dicts()
    return from_frame(result.records)


def test_alpaca_with_and_without_input(tmp_path: Path) -> None:
    recs = _one(
        _jsonl(
            tmp_path / "a.jsonl",
            [
                {"instruction": "Add the numbers.", "input": "2 and 3", "output": "5"},
                {"instruction": "Say hi.", "input": "", "output": "Hi!", "system": "Be brief."},
            ],
        )
    )
    assert [m.content for m in recs[0].prompt] == ["Add the numbers.\n\n2 and 3"]
    assert recs[0].completion[0].content == "5"
    assert [m.role for m in recs[1].prompt] == ["system", "user"]
    assert recs[1].source.row == 1 and recs[1].source.line == 2


def test_alpaca_history_and_preference(tmp_path: Path) -> None:
    recs = _one(
        _jsonl(
            tmp_path / "a.jsonl",
            [
                {"instruction": "And 3?", "output": "9", "history": [["Square 2", "4"]]},
                {"instruction": "Pick", "input": "", "chosen": "good", "rejected": "bad"},
            ],
        )
    )
    assert [m.role for m in recs[0].prompt] == ["user", "assistant", "user"]
    assert recs[1].kind == "preference" and recs[1].chosen[0].content == "good"


def test_sharegpt_sft_and_llamafactory_preference(tmp_path: Path) -> None:
    sft = _one(
        _jsonl(
            tmp_path / "s.jsonl",
            [
                {
                    "conversations": [
                        {"from": "human", "value": "hi"},
                        {"from": "gpt", "value": "hello"},
                        {"from": "human", "value": "bye"},
                        {"from": "gpt", "value": "ciao"},
                    ]
                },
            ],
        )
    )
    assert len(sft[0].prompt) == 3 and sft[0].completion[0].content == "ciao"
    pref = _one(
        _jsonl(
            tmp_path / "p.jsonl",
            [
                {
                    "conversations": [{"from": "human", "value": "q"}],
                    "chosen": {"from": "gpt", "value": "a1"},
                    "rejected": {"from": "gpt", "value": "a2"},
                },
            ],
        )
    )
    assert pref[0].kind == "preference" and pref[0].rejected[0].content == "a2"


def test_openai_messages_with_text_parts(tmp_path: Path) -> None:
    recs = _one(
        _jsonl(
            tmp_path / "o.jsonl",
            [
                {
                    "messages": [
                        {"role": "system", "content": "s"},
                        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                        {"role": "assistant", "content": "yo"},
                    ]
                },
            ],
        )
    )
    assert [m.role for m in recs[0].prompt] == ["system", "user"]
    assert recs[0].prompt[1].content == "hi"


def test_prompt_completion_and_prompt_response(tmp_path: Path) -> None:
    pc = _one(_jsonl(tmp_path / "pc.jsonl", [{"prompt": "p", "completion": "c"}]))
    assert pc[0].completion[0].role == "assistant"
    trl = _one(
        _jsonl(
            tmp_path / "trl.jsonl",
            [
                {
                    "prompt": [{"role": "user", "content": "p"}],
                    "completion": [{"role": "assistant", "content": "c"}],
                },
            ],
        )
    )
    assert trl[0].id == pc[0].id  # same content, same id, whatever the spelling
    pr = _one(_jsonl(tmp_path / "pr.jsonl", [{"prompt": "p", "response": "r"}]))
    assert pr[0].completion[0].content == "r"


def test_preference_strings_messages_and_implicit_prompt(tmp_path: Path) -> None:
    recs = _one(
        _jsonl(
            tmp_path / "p.jsonl",
            [
                {"prompt": "q", "chosen": "yes", "rejected": "no"},
                {
                    "prompt": [{"role": "user", "content": "q"}],
                    "chosen": [{"role": "assistant", "content": "yes"}],
                    "rejected": [{"role": "assistant", "content": "no"}],
                },
                {
                    "chosen": [
                        {"role": "user", "content": "q2"},
                        {"role": "assistant", "content": "y"},
                    ],
                    "rejected": [
                        {"role": "user", "content": "q2"},
                        {"role": "assistant", "content": "n"},
                    ],
                },
            ],
        ),
        shape="preference",
    )
    assert recs[0].id != recs[1].id or recs[0].prompt == recs[1].prompt
    assert recs[2].prompt[0].content == "q2" and recs[2].chosen[0].content == "y"


def test_hh_rlhf_transcripts_split_into_shared_prompt(tmp_path: Path) -> None:
    chosen = "\n\nHuman: What is 2+2?\n\nAssistant: It is 4.\n\nHuman: Sure?\n\nAssistant: Yes."
    rejected = "\n\nHuman: What is 2+2?\n\nAssistant: It is 4.\n\nHuman: Sure?\n\nAssistant: No, 5."
    path = tmp_path / "hh.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write(json.dumps({"chosen": chosen, "rejected": rejected}) + "\n")
    result = read_dataset(path)
    assert result.shape == "hh_rlhf" and result.file_type == "jsonl"
    rec = from_frame(result.records)[0]
    assert [m.content for m in rec.prompt] == ["What is 2+2?", "It is 4.", "Sure?"]
    assert rec.chosen[0].content == "Yes." and rec.rejected[0].content == "No, 5."
    assert parse_transcript("Human: hi\n\nAssistant: yo", "x")[1].role == "assistant"


def test_file_types_agree(tmp_path: Path) -> None:
    rows = [{"instruction": f"task {i}", "input": "", "output": f"answer {i}"} for i in range(5)]
    jsonl = _jsonl(tmp_path / "d.jsonl", rows)
    (tmp_path / "d.json").write_text(json.dumps(rows, indent=2))
    pl.DataFrame(rows).write_parquet(tmp_path / "d.parquet")
    with open(tmp_path / "d.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["instruction", "input", "output"])
        writer.writeheader()
        writer.writerows(rows)
    with gzip.open(tmp_path / "d.json.gz", "wt") as f:
        f.write(json.dumps(rows))
    ids = {
        p.name: read_dataset(p).records["id"].to_list()
        for p in [
            jsonl,
            tmp_path / "d.json",
            tmp_path / "d.parquet",
            tmp_path / "d.csv",
            tmp_path / "d.json.gz",
        ]
    }
    assert len({tuple(v) for v in ids.values()}) == 1
    lines = read_dataset(tmp_path / "d.json").records["line"].to_list()
    assert lines == [2, 7, 12, 17, 22]  # each element's first line in the indented array


def test_broken_jsonl_exact_reject_accounting(tmp_path: Path) -> None:
    good = json.dumps({"instruction": "ok", "input": "", "output": "fine"}).encode()
    path = tmp_path / "broken.jsonl"
    path.write_bytes(
        b"\n".join(
            [
                good,  # row 0, line 1
                b'{"instruction": "truncated", "output": "x',  # row 1, line 2
                json.dumps({"instruction": 5.5, "output": ["a"]}).encode(),  # row 2, line 3
                b"",  # blank line 4
                b'{"instruction": "bad \xff\xfe utf8", "output": "x"}',  # row 3, line 5
                json.dumps({"instruction": "   ", "output": "x"}).encode(),  # row 4, line 6
                json.dumps({"instruction": "no output"}).encode(),  # row 5, line 7
                b"[1, 2]",  # row 6, line 8
                good,  # row 7, line 9
            ]
        )
        + b"\n"
    )
    result = read_dataset(path, shape="alpaca")
    assert result.n_rows == 8
    assert len(result.records) + len(result.rejects) == result.n_rows
    assert result.reject_reasons == {
        "empty_prompt": 1,
        "invalid_json": 1,
        "invalid_utf8": 1,
        "missing_field": 1,
        "not_an_object": 1,
        "wrong_type": 1,
    }
    by_reason = {r["reason"]: (r["row"], r["line"]) for r in result.rejects.to_dicts()}
    assert by_reason["invalid_json"] == (1, 2)
    assert by_reason["wrong_type"] == (2, 3)
    assert by_reason["invalid_utf8"] == (3, 5)
    assert by_reason["empty_prompt"] == (4, 6)
    assert result.records["row"].to_list() == [0, 7]
    # two exact copies keep distinct, stable ids
    a, b = result.records["id"].to_list()
    assert a != b and read_dataset(path, shape="alpaca").records["id"].to_list() == [a, b]


def test_huge_line_is_rejected_not_loaded(tmp_path: Path, monkeypatch) -> None:
    import curate.io.files as readers

    monkeypatch.setattr(readers, "MAX_ROW_BYTES", 1000)
    path = tmp_path / "big.jsonl"
    big = json.dumps({"instruction": "x" * 5000, "output": "y"})
    path.write_text(
        json.dumps({"instruction": "a", "output": "b"})
        + "\n"
        + big
        + "\n"
        + json.dumps({"instruction": "c", "output": "d"})
        + "\n"
    )
    result = read_dataset(path)
    assert result.reject_reasons == {"row_too_large": 1}
    assert result.rejects["line"].to_list() == [2]
    assert result.records["line"].to_list() == [1, 3]


def test_not_a_dataset_fails_clearly(tmp_path: Path) -> None:
    binary = tmp_path / "model.bin"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(DatasetFormatError, match=r"model\.bin"):
        read_dataset(binary)
    unknown = _jsonl(tmp_path / "x.jsonl", [{"foo": 1, "bar": 2}])
    with pytest.raises(DatasetFormatError, match="Expected one of"):
        read_dataset(unknown)
    with pytest.raises(InputError, match="no such file"):
        read_dataset(tmp_path / "missing.jsonl")
    broken = tmp_path / "broken.json"
    broken.write_text('[{"instruction": "a", "output": "b"},\n {"instruction": ')
    with pytest.raises(DatasetFormatError, match="line 2"):
        read_dataset(broken)


def test_tsv_with_stray_quotes(tmp_path: Path) -> None:
    path = tmp_path / "d.tsv"
    path.write_text('prompt\tresponse\nsay "hi\tok\nnext\t"quoted" answer\n')
    result = read_dataset(path)
    assert result.shape == "prompt_response" and len(result.records) == 2
    assert from_frame(result.records)[0].prompt[0].content == 'say "hi'


@pytest.mark.parametrize(
    ("name", "shape", "kind", "rows"),
    [
        ("alpaca_random_9k.json", "alpaca", "sft", 9229),
        ("alpaca_en_demo.json", "alpaca", "sft", 999),
        ("dpo_en_demo.json", "sharegpt", "preference", 300),
        ("hh_rlhf_harmless_base_test.jsonl.gz", "hh_rlhf", "preference", 2312),
    ],
)
def test_real_training_files_load(
    shared_data: Path, name: str, shape: str, kind: str, rows: int
) -> None:
    result = read_dataset(shared_data / name)
    assert (result.shape, result.n_rows) == (shape, rows)
    assert len(result.records) + len(result.rejects) == rows
    assert set(result.records["kind"].to_list()) == {kind}
    assert len(result.rejects) == 0
    assert result.records["id"].n_unique() == len(result.records)
