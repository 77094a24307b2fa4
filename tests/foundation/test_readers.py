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
    from curate.io import limits

    monkeypatch.setattr(limits, "MAX_ROW_BYTES", 1000)
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


# -- the hardened readers: decompression guard, text decoding, row guards, bounded memory ----


GOOD = {"prompt": "p", "completion": "c"}


def _rows(path: Path, kind: str | None = None) -> list:
    from curate.io.files import detect_file_type, iter_rows

    return list(iter_rows(path, kind or detect_file_type(path)))


def _reasons(rows: list) -> list:
    return [r.reason for r in rows]


def test_gzip_bombs_stop_at_the_ratio_and_size_limits(tmp_path: Path, monkeypatch) -> None:
    from curate.errors import DecompressionLimit
    from curate.io import limits

    bomb = tmp_path / "bomb.jsonl.gz"
    with gzip.open(bomb, "wb") as f:
        f.write((json.dumps(GOOD) + "\n").encode() * 80_000)  # ~3 MB of rows, ~1000:1
    assert len(_rows(bomb)) == 80_000  # under the defaults it is only a large file
    monkeypatch.setattr(limits, "RATIO_CHECK_AFTER_BYTES", 1 << 20)
    with pytest.raises(DecompressionLimit, match=r"bomb\.jsonl\.gz.*100:1"):
        _rows(bomb)
    monkeypatch.setenv("TUNESMITH_DECOMPRESSION_RATIO_AFTER_BYTES", str(1 << 30))
    monkeypatch.setenv("TUNESMITH_MAX_DECOMPRESSED_BYTES", str(2 << 20))
    with pytest.raises(DatasetFormatError, match="expands past 2,097,152 bytes"):
        _rows(bomb)
    monkeypatch.setenv("TUNESMITH_MAX_DECOMPRESSED_BYTES", "lots")
    with pytest.raises(InputError, match="TUNESMITH_MAX_DECOMPRESSED_BYTES"):
        _rows(bomb)


def test_truncated_and_corrupt_gzip_name_the_file(tmp_path: Path) -> None:
    data = gzip.compress((json.dumps(GOOD) + "\n").encode() * 1000)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetFormatError, match=r"cut\.jsonl\.gz: truncated gzip stream"):
        read_dataset(cut)
    junk = tmp_path / "junk.json.gz"
    junk.write_bytes(b"\x1f\x8b" + b"not deflate at all" * 10)
    with pytest.raises(DatasetFormatError, match="not a gzip stream after the magic bytes"):
        read_dataset(junk)
    pq_gz = tmp_path / "d.parquet.gz"
    buf = tmp_path / "d.parquet"
    pl.DataFrame([GOOD] * 3).write_parquet(buf)
    pq_gz.write_bytes(gzip.compress(buf.read_bytes()))
    assert len(read_dataset(pq_gz).records) == 3  # .parquet.gz is read (through a spool file)
    pq_gz.write_bytes(gzip.compress(buf.read_bytes())[:-40])
    with pytest.raises(DatasetFormatError, match="truncated gzip stream"):
        read_dataset(pq_gz)


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
    ],
)
def test_boms_are_skipped_and_utf16_32_decoded(tmp_path: Path, bom: bytes, encoding: str) -> None:
    rows = [{"prompt": f"q{i} é ✓", "completion": f"a{i}"} for i in range(3)]
    jsonl = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    texts = {
        "d.jsonl": jsonl,
        "d.json": json.dumps(rows, ensure_ascii=False, indent=1),
        "d.csv": "prompt,completion\n"
        + "".join(f"{r['prompt']},{r['completion']}\n" for r in rows),
    }
    want = _jsonl(tmp_path / "plain.jsonl", rows)
    ids = read_dataset(want).records["id"].to_list()
    for name, text in texts.items():
        path = tmp_path / name
        path.write_bytes(bom + text.encode(encoding))
        result = read_dataset(path)
        assert result.n_rows == 3 and len(result.rejects) == 0, (name, result.rejects.to_dicts())
        assert result.records["id"].to_list() == ids, name  # the first row is not lost


def test_row_guards_reject_rows_in_jsonl_and_json_arrays(tmp_path: Path) -> None:
    bad = [
        ('{"prompt": ' + "[" * 10_000 + "]" * 10_000 + "}", "too_deep"),
        ('{"prompt": ' + "[" * 65 + "]" * 65 + "}", "too_deep"),
        ('{"prompt": "p", "n": ' + "7" * 5000 + "}", "number_too_long"),
        ('{"prompt": "p", "n": 1.' + "5" * 5000 + "}", "number_too_long"),
        ('{"prompt": "p", "n": 1e999}', "non_finite_number"),
        ('{"prompt": "p", "n": NaN}', "non_finite_number"),
        ('{"prompt": "p", "n": Infinity}', "non_finite_number"),
        ('{"prompt": "p", "n": -Infinity}', "non_finite_number"),
        ('{"prompt": "a\\ud800b", "completion": "c"}', "invalid_unicode"),
        ('{"x\\udfff": 1}', "invalid_unicode"),
        ('{"prompt": "p", "completion": "unterminated', "invalid_json"),
    ]
    fine = [
        json.dumps(GOOD),
        '{"prompt": "\\ud83d\\ude00 a pair is fine", "completion": "c"}',
        '{"prompt": "' + "[{" * 100 + '", "completion": "brackets in a string"}',
        '{"prompt": ' + "[" * 63 + '"p"' + "]" * 63 + "}",  # 64 levels: at the limit
    ]
    lines = fine[:2] + [text for text, _ in bad] + fine[2:]
    path = tmp_path / "g.jsonl"
    path.write_text("\n".join(lines) + "\n")
    rows = _rows(path)
    assert len(rows) == len(lines)
    assert _reasons(rows) == [None, None, *(reason for _, reason in bad), None, None]
    assert [r.line for r in rows] == list(range(1, len(lines) + 1))
    assert "at at" not in rows[-3].detail and "column" in rows[-3].detail
    assert "prompt" in rows[10].detail  # the field with the lone surrogate is named
    array = tmp_path / "g.json"
    array.write_text("[\n" + ",\n".join(lines[:-3] + lines[-2:]) + "\n]")
    rows = _rows(array)
    assert _reasons(rows) == [None, None, *(reason for _, reason in bad[:-1]), None, None]
    assert [r.line for r in rows] == [k + 2 for k in range(len(rows))]


def test_json_array_streams_through_a_small_window(tmp_path: Path, monkeypatch) -> None:
    from curate.io import limits

    rows = [{"prompt": f"q {i} " + "x" * (i * 37 % 300), "completion": 'a\\"b'} for i in range(400)]
    path = tmp_path / "d.json"
    path.write_text(json.dumps(rows, indent=2))
    whole = _rows(path)
    monkeypatch.setattr(limits, "CHUNK", 7)  # every token split across reads
    monkeypatch.setattr(limits, "MAX_ROW_BYTES", 200)
    small = _rows(path)
    assert [r.line for r in small] == [r.line for r in whole]

    def size(row: dict) -> int:  # the element's text inside the indented array
        text = json.dumps(row, indent=2)
        return len(text) + 2 * text.count("\n")

    assert [r.reason for r in small] == [
        None if size(row) <= 200 else "row_too_large" for row in rows
    ]
    assert {"row_too_large", None} == {r.reason for r in small}
    assert all(r.value == rows[r.row] for r in small if r.reason is None)


def test_json_array_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "big.json"
    row = json.dumps({"prompt": "p" * 1000, "completion": "c" * 1000})
    with open(path, "w") as f:
        f.write("[" + ",\n".join([row] * 12_000) + "]")  # 24 MB
    tracemalloc.start()
    try:
        n = sum(1 for _ in _rows_iter(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert n == 12_000
    assert peak < 8 << 20, f"peak {peak:,} bytes"  # the old reader held the whole file twice


def _rows_iter(path: Path):
    from curate.io.files import iter_rows

    return iter_rows(path, "json")


def test_json_array_file_errors_say_where(tmp_path: Path) -> None:
    cases = {
        '[{"prompt": "p"}, {"prompt" 1}]': r"line 1: Expecting ':' delimiter at column 29",
        '[{"prompt": "p"}] trailing': "unexpected content after the array at line 1",
        '[{"prompt": "p"} {"prompt": "q"}]': "expected ',' or ']' at line 1",
        '[{"prompt": "p"},\n{"prompt": "q"': "line 2: the file ends inside record 2",
        "42": "expected a JSON array of records, found '4'",
        "": "found an empty file",
    }
    for k, (text, message) in enumerate(cases.items()):
        path = tmp_path / f"e{k}.json"
        path.write_text(text)
        with pytest.raises(DatasetFormatError, match=message) as e:
            _rows(path, "json")
        assert str(path) in str(e.value) and "at at" not in str(e.value)
    invalid = tmp_path / "u.json"
    invalid.write_bytes(b'[{"prompt": "\xff"},\n' + json.dumps(GOOD).encode() + b"]")
    assert _reasons(_rows(invalid)) == ["invalid_utf8", None]  # rows resynchronise after it


def test_csv_rows_with_bad_utf8_long_lines_and_open_quotes(tmp_path: Path, monkeypatch) -> None:
    from curate.io import limits

    monkeypatch.setattr(limits, "MAX_ROW_BYTES", 1000)
    path = tmp_path / "d.csv"
    path.write_bytes(
        b"prompt,completion\r\n"
        b"p1,c1\r\n"  # line 2
        b"p\xff2,c2\n"  # line 3: invalid UTF-8
        b'"multi\nline",c3\n'  # lines 4-5: one row
        b"p4," + b"x" * 3000 + b"\n"  # line 6: too large
        b"p5,c5,extra\n"  # line 7
        b'p6,"never closed\n'  # line 8
        b"p7,c7\n"
    )
    rows = _rows(path)
    assert [(r.line, r.reason) for r in rows] == [
        (2, None),
        (3, "invalid_utf8"),
        (4, None),
        (6, "row_too_large"),
        (7, "wrong_field_count"),
        (8, "unterminated_quote"),
    ]
    assert "'prompt'" in rows[1].detail and "line 3" in rows[1].detail
    assert "\ufffd" in rows[1].raw  # the excerpt is storable text
    assert rows[2].value == {"prompt": "multi\nline", "completion": "c3"}
    assert "never closed" in rows[5].detail
    bad_header = tmp_path / "h.csv"
    bad_header.write_bytes(b"pro\xffmpt,completion\np,c\n")
    with pytest.raises(DatasetFormatError, match="invalid UTF-8 in the header"):
        _rows(bad_header)


def test_parquet_guards_and_corrupt_files(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pl.DataFrame(
        {
            "prompt": ["a", "b", "c"],
            "completion": ["x", "y", "z"],
            "score": [1.0, float("nan"), 2.0],
        }
    ).write_parquet(path)
    assert _reasons(_rows(path)) == [None, "non_finite_number", None]
    corrupt = tmp_path / "c.parquet"
    data = path.read_bytes()
    corrupt.write_bytes(data[:4] + b"\x00" * (len(data) - 8) + data[-4:])
    with pytest.raises(DatasetFormatError, match=r"c\.parquet"):
        _rows(corrupt)


def test_binary_files_are_named_for_what_they_are(tmp_path: Path) -> None:
    utf16 = tmp_path / "d.jsonl"
    utf16.write_bytes((json.dumps(GOOD) + "\n").encode("utf-16-le"))  # no BOM
    with pytest.raises(DatasetFormatError, match="UTF-16 text without a byte-order mark"):
        _rows(utf16)
    zst = tmp_path / "d2.jsonl"
    zst.write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 40)
    with pytest.raises(DatasetFormatError, match="zstd-compressed"):
        _rows(zst)
