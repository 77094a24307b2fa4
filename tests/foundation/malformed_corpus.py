"""A corpus of malformed dataset files, each with the outcome tunesmith must give it.

Every file either reads (exit 0, every row a record or a reject, and a given reject reason among
the rejects) or is refused as a whole (exit 2, the path and a message fragment on stderr). Never
an internal error (exit 1), never unbounded memory: the bombs are small, and the decompression
limits are lowered for them through the environment variables ``curate.io.limits`` names.

``python tests/foundation/malformed_corpus.py DIR`` writes the files into DIR, for a look by hand;
``... --run JOBS RESULTS`` is the test's CLI runner (``run_cli_jobs``).
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import random
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MiB = 1 << 20

BOMB_ENV = {"TUNESMITH_DECOMPRESSION_RATIO_AFTER_BYTES": str(1 * MiB)}
"""The ratio bombs trip the 100:1 limit after 1 MiB out instead of 16 MiB."""
SIZE_ENV = {"TUNESMITH_MAX_DECOMPRESSED_BYTES": str(2 * MiB)}
"""The size bomb trips a 2 MiB limit instead of 4 GiB."""


@dataclass(frozen=True)
class Case:
    """One malformed file and what reading it must give."""

    name: str
    """The file's name; its extension picks the file type."""
    make: Callable[[], bytes]
    """The file's bytes."""
    reason: str | None = None
    """Exit 0 with at least one reject of this reason."""
    error: str | None = None
    """Exit 2 with this fragment (and the file's path) on stderr."""
    clean: bool = False
    """Exit 0 with no reject at all (every row a record)."""
    rows: int | None = None
    """The number of rows the file must have, when it matters (a BOM must not eat a row)."""
    env: dict[str, str] = field(default_factory=dict)
    """Environment overrides for the run (lowered decompression limits)."""


def _row(i: int = 0) -> dict:
    return {"prompt": f"What is {i} + {i}?", "completion": f"It is {2 * i}."}


def _good(n: int = 3) -> list[dict]:
    return [_row(i) for i in range(n)]


def _lines(*parts: bytes | str | dict, newline: bytes = b"\n") -> bytes:
    out = []
    for p in parts:
        if isinstance(p, dict):
            p = json.dumps(p)
        out.append(p.encode() if isinstance(p, str) else p)
    return newline.join(out) + newline


def _jsonl_with(*bad: bytes | str | dict) -> Callable[[], bytes]:
    return lambda: _lines(*_good(2), *bad, *[_row(i) for i in range(2, 4)])


def _json_with(*bad: str) -> Callable[[], bytes]:
    good = [json.dumps(r) for r in _good(3)]
    return lambda: ("[\n" + ",\n".join([*good[:2], *bad, good[2]]) + "\n]").encode()


def _csv(*lines: str | bytes, sep: str = ",") -> Callable[[], bytes]:
    head = [f"prompt{sep}completion", *[f"{r['prompt']}{sep}{r['completion']}" for r in _good(2)]]
    return lambda: _lines(*head, *lines)


def _messages(*messages: dict) -> dict:
    return {"messages": list(messages)}


def _chat_with(bad: dict) -> Callable[[], bytes]:
    good = [
        _messages({"role": "user", "content": f"hi {i}"}, {"role": "assistant", "content": "yo"})
        for i in range(3)
    ]
    return lambda: _lines(*good[:2], bad, good[2])


def _encoded(encoding: str, bom: bytes, text: str) -> Callable[[], bytes]:
    return lambda: bom + text.encode(encoding)


def _gz(data: Callable[[], bytes], cut: int = 0, tail: bytes = b"") -> Callable[[], bytes]:
    def make() -> bytes:
        packed = gzip.compress(data(), compresslevel=6, mtime=0)
        return (packed[:-cut] if cut else packed) + tail

    return make


def _ratio_bomb(unit: bytes, head: bytes = b"", end: bytes = b"") -> Callable[[], bytes]:
    """~8 MiB of one repeated row: well over 100:1, and over 1 MiB out (``BOMB_ENV``)."""

    def make() -> bytes:
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as f:
            f.write(head)
            block = unit * (MiB // len(unit))
            for _ in range(8):
                f.write(block)
            f.write(end)
        return buf.getvalue()

    return make


def _size_bomb() -> bytes:
    """~4 MiB of varied rows that compress only ~3:1, past a 2 MiB size limit (``SIZE_ENV``)."""
    rng = random.Random(7)
    words = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(5000)
    ]
    rows = []
    size = 0
    while size < 4 * MiB:
        line = json.dumps(
            {
                "prompt": " ".join(rng.choices(words, k=12)),
                "completion": " ".join(rng.choices(words, k=20)),
            }
        )
        rows.append(line)
        size += len(line) + 1
    return gzip.compress(("\n".join(rows) + "\n").encode(), mtime=0)


def _parquet(columns: dict) -> Callable[[], bytes]:
    def make() -> bytes:
        import polars as pl

        buf = io.BytesIO()
        pl.DataFrame(columns, strict=False).write_parquet(buf)
        return buf.getvalue()

    return make


def _corrupt_parquet() -> bytes:
    data = _parquet({"prompt": ["a", "b"], "completion": ["x", "y"]})()
    return data[:4] + bytes(len(data) - 8) + data[-4:]


def _big_text(size: int) -> str:
    return "x" * size


GOOD_JSONL = "".join(json.dumps(r) + "\n" for r in _good(3))
GOOD_ARRAY = json.dumps(_good(3), indent=1)
GOOD_CSV = "prompt,completion\n" + "".join(f"{r['prompt']},{r['completion']}\n" for r in _good(3))
DEEP = '{"prompt": ' + "[" * 10_000 + "]" * 10_000 + ', "completion": "c"}'
BIG_ROW = 9 * MiB  # past MAX_ROW_BYTES (8 MiB)

CASES: list[Case] = [
    # -- JSON Lines: rows the readers reject ------------------------------------------------------
    Case(
        "truncated_line.jsonl", _jsonl_with('{"prompt": "p", "completion": "cut of'), "invalid_json"
    ),
    Case("wrong_types.jsonl", _jsonl_with({"prompt": 5, "completion": ["a"]}), "wrong_type"),
    Case(
        "bad_utf8.jsonl",
        _jsonl_with(b'{"prompt": "bad \xff\xfe", "completion": "c"}'),
        "invalid_utf8",
    ),
    Case("deep_nesting.jsonl", _jsonl_with(DEEP), "too_deep"),
    Case("deep_65.jsonl", _jsonl_with('{"p": ' + "[" * 65 + "]" * 65 + "}"), "too_deep"),
    Case(
        "int_5000_digits.jsonl",
        _jsonl_with('{"prompt": "p", "completion": ' + "9" * 5000 + "}"),
        "number_too_long",
    ),
    Case(
        "huge_float.jsonl",
        _jsonl_with('{"prompt": "p", "n": 0.' + "3" * 6000 + "}"),
        "number_too_long",
    ),
    Case(
        "float_overflow.jsonl",
        _jsonl_with('{"prompt": "p", "completion": "c", "n": 1e999}'),
        "non_finite_number",
    ),
    Case(
        "nan.jsonl",
        _jsonl_with('{"prompt": "p", "completion": "c", "n": NaN}'),
        "non_finite_number",
    ),
    Case(
        "infinity.jsonl",
        _jsonl_with('{"prompt": "p", "n": Infinity}', '{"prompt": "p", "n": -Infinity}'),
        "non_finite_number",
    ),
    Case(
        "lone_surrogate.jsonl",
        _jsonl_with('{"prompt": "a \\ud800 b", "completion": "c"}'),
        "invalid_unicode",
    ),
    Case(
        "lone_low_surrogate_key.jsonl",
        _jsonl_with('{"prompt": "p", "completion": "c", "k\\udc00": 1}'),
        "invalid_unicode",
    ),
    Case("empty_prompt.jsonl", _jsonl_with({"prompt": "   ", "completion": "c"}), "empty_prompt"),
    Case("missing_completion.jsonl", _jsonl_with({"prompt": "only a prompt"}), "missing_field"),
    Case("array_row.jsonl", _jsonl_with("[1, 2, 3]", '"a string row"', "42"), "not_an_object"),
    Case(
        "row_too_large.jsonl",
        _jsonl_with(json.dumps({"prompt": _big_text(BIG_ROW), "completion": "c"})),
        "row_too_large",
    ),
    Case(
        "long_line_no_newline.jsonl",
        lambda: GOOD_JSONL.encode() + b'{"prompt": "' + b"y" * (10 * MiB),
        "row_too_large",
    ),
    # -- JSON Lines: shape-level guards the lead is adding in curate/io/shapes.py ------------------
    Case(
        "null_text_part.jsonl",
        _chat_with(
            _messages(
                {"role": "user", "content": [{"type": "text", "text": None}]},
                {"role": "assistant", "content": "a"},
            )
        ),
        reason="null_text",
    ),
    Case(
        "identical_pair.jsonl",
        lambda: _lines(
            *[{"prompt": f"q{i}", "chosen": f"a{i}", "rejected": f"b{i}"} for i in range(3)],
            {"prompt": "q", "chosen": "same", "rejected": "same"},
        ),
        reason="identical_pair",
    ),
    Case(
        "control_characters.jsonl",
        _jsonl_with({"prompt": "bell \u0007 and \u001b[31m escape", "completion": "c\u0000"}),
        reason="control_characters",
    ),
    Case(
        "bad_tool_arguments.jsonl",
        _chat_with(
            _messages(
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "1",
                            "type": "function",
                            "function": {"name": "w", "arguments": "{not json"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "1", "content": "sunny"},
                {"role": "assistant", "content": "sunny"},
            )
        ),
        reason="bad_tool_arguments",
    ),
    Case(
        "tool_calls_on_user.jsonl",
        _chat_with(
            _messages(
                {
                    "role": "user",
                    "content": "hi",
                    "tool_calls": [
                        {
                            "id": "1",
                            "type": "function",
                            "function": {"name": "w", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "assistant", "content": "yo"},
            )
        ),
        reason="role_cannot_carry",
    ),
    Case(
        "unknown_role.jsonl",
        _chat_with(
            _messages({"role": "wizard", "content": "x"}, {"role": "assistant", "content": "y"})
        ),
        reason="unknown_role",
    ),
    Case(
        "message_without_content.jsonl",
        _chat_with(_messages({"role": "user"}, {"role": "assistant", "content": "y"})),
        reason="missing_field",
    ),
    Case(
        "sharegpt_odd.jsonl",
        lambda: _lines(
            *[
                {
                    "conversations": [
                        {"from": "human", "value": f"q{i}"},
                        {"from": "gpt", "value": "a"},
                    ]
                }
                for i in range(3)
            ],
            {"conversations": [{"from": "gpt", "value": 5}, {"from": "human"}, "not a turn"]},
            {"conversations": "not a list"},
        ),
        reason="wrong_type",
    ),
    # -- JSON Lines: files that read cleanly -------------------------------------------------------
    Case("bom.jsonl", lambda: codecs.BOM_UTF8 + GOOD_JSONL.encode(), clean=True, rows=3),
    Case(
        "utf16le_bom.jsonl",
        _encoded("utf-16-le", codecs.BOM_UTF16_LE, GOOD_JSONL),
        clean=True,
        rows=3,
    ),
    Case(
        "utf16be_bom.jsonl",
        _encoded("utf-16-be", codecs.BOM_UTF16_BE, GOOD_JSONL),
        clean=True,
        rows=3,
    ),
    Case(
        "utf32le_bom.jsonl",
        _encoded("utf-32-le", codecs.BOM_UTF32_LE, GOOD_JSONL),
        clean=True,
        rows=3,
    ),
    Case(
        "mixed_crlf.jsonl",
        lambda: GOOD_JSONL.replace("\n", "\r\n", 2).encode() + b"\r\n\n  \n",
        clean=True,
        rows=3,
    ),
    Case(
        "duplicate_keys.jsonl",
        _jsonl_with('{"prompt": "first", "prompt": "last", "completion": "c"}'),
        clean=True,
    ),
    Case(
        "long_keys.jsonl",
        _jsonl_with({"prompt": "p", "completion": "c", "k" * 100_000: 1}),
        clean=True,
    ),
    Case("good.jsonl.gz", _gz(lambda: GOOD_JSONL.encode()), clean=True, rows=3),
    # -- JSON Lines: files refused as a whole -----------------------------------------------------
    Case("empty.jsonl", lambda: b"", error="no readable object rows"),
    Case("whitespace_only.jsonl", lambda: b" \n\t\n\r\n   \n", error="no readable object rows"),
    Case(
        "only_empty_objects.jsonl",
        lambda: b"{}\n{}\n{}\n",
        error="not a dataset tunesmith recognises",
    ),
    Case(
        "nul_bytes.jsonl",
        lambda: GOOD_JSONL.encode()[:40] + b"\x00\x00\x01\x02" * 50,
        error="binary content",
    ),
    Case(
        "utf16_no_bom.jsonl",
        _encoded("utf-16-le", b"", GOOD_JSONL),
        error="UTF-16 text without a byte-order mark",
    ),
    # -- gzip ---------------------------------------------------------------------------------
    Case(
        "bomb_ratio.jsonl.gz",
        _ratio_bomb((json.dumps(_row()) + "\n").encode()),
        error="a likely decompression bomb",
        env=BOMB_ENV,
    ),
    Case(
        "bomb_ratio.json.gz",
        _ratio_bomb((json.dumps(_row()) + ",\n").encode(), b"[", b"{}]"),
        error="a likely decompression bomb",
        env=BOMB_ENV,
    ),
    Case(
        "bomb_ratio.csv.gz",
        _ratio_bomb(b"What is 1 + 1?,It is 2.\n", b"prompt,completion\n"),
        error="a likely decompression bomb",
        env=BOMB_ENV,
    ),
    Case("bomb_size.jsonl.gz", _size_bomb, error="expands past 2,097,152 bytes", env=SIZE_ENV),
    Case(
        "truncated.jsonl.gz",
        _gz(lambda: GOOD_JSONL.encode() * 50, cut=40),
        error="truncated gzip stream",
    ),
    Case(
        "garbage_after_magic.jsonl.gz",
        lambda: b"\x1f\x8b" + b"this is not deflate data " * 20,
        error="not a gzip stream after the magic bytes",
    ),
    Case(
        "gzip_trailing_garbage.jsonl.gz",
        _gz(lambda: GOOD_JSONL.encode(), tail=b"junk after the stream"),
        error="corrupt gzip stream",
    ),
    Case("magic_only.json.gz", lambda: b"\x1f\x8b", error="truncated gzip stream"),
    # -- JSON arrays ----------------------------------------------------------------------------
    Case(
        "array_bad_utf8.json",
        lambda: _json_with('{"prompt": "x", "completion": "y"}')().replace(b'"x"', b'"\xc3\x28"'),
        "invalid_utf8",
    ),
    Case("array_deep.json", _json_with(DEEP), "too_deep"),
    Case(
        "array_nan.json",
        _json_with('{"prompt": "p", "completion": "c", "s": NaN}'),
        "non_finite_number",
    ),
    Case(
        "array_big_int.json",
        _json_with('{"prompt": "p", "completion": ' + "1" * 5000 + "}"),
        "number_too_long",
    ),
    Case(
        "array_surrogate.json",
        _json_with('{"prompt": "\\udbff", "completion": "c"}'),
        "invalid_unicode",
    ),
    Case(
        "array_big_element.json",
        _json_with(json.dumps({"prompt": _big_text(BIG_ROW), "completion": "c"})),
        "row_too_large",
    ),
    Case("array_mixed_elements.json", _json_with("[1]", '"s"', "null"), "not_an_object"),
    Case("array_bom.json", lambda: codecs.BOM_UTF8 + GOOD_ARRAY.encode(), clean=True, rows=3),
    Case(
        "array_utf16le.json",
        _encoded("utf-16-le", codecs.BOM_UTF16_LE, GOOD_ARRAY),
        clean=True,
        rows=3,
    ),
    Case(
        "array_utf16be.json",
        _encoded("utf-16-be", codecs.BOM_UTF16_BE, GOOD_ARRAY),
        clean=True,
        rows=3,
    ),
    Case("array.json.gz", _gz(lambda: GOOD_ARRAY.encode()), clean=True, rows=3),
    Case(
        "array_syntax_error.json",
        _json_with('{"prompt": "p" "completion": "c"}'),
        error="a JSON array cannot be read past a syntax error",
    ),
    Case(
        "array_trailing_garbage.json",
        lambda: GOOD_ARRAY.encode() + b"\n{oops",
        error="unexpected content after the array",
    ),
    Case(
        "array_truncated.json",
        lambda: GOOD_ARRAY.encode()[:-30],
        error="the file ends inside record",
    ),
    Case(
        "array_missing_comma.json",
        lambda: b'[{"prompt": "p", "completion": "c"} {"prompt": "q", "completion": "d"}]',
        error="expected ',' or ']'",
    ),
    Case(
        "array_trailing_comma.json",
        lambda: b'[{"prompt": "p", "completion": "c"},]',
        error="Expecting value",
    ),
    Case("scalar.json", lambda: b"42\n", error="expected a JSON array of records"),
    Case(
        "string_scalar.json", lambda: b'"just a string"', error="expected a JSON array of records"
    ),
    Case(
        "single_object.json",
        lambda: b'{\n  "prompt": "p",\n  "completion": "c"\n}\n',
        error="one JSON object",
    ),
    Case("array_of_arrays.json", lambda: b"[[1, 2], [3, 4], []]", error="no readable object rows"),
    Case("empty_array.json", lambda: b"[ ]\n", error="no readable object rows"),
    Case("empty.json", lambda: b"", error="found an empty file"),
    # -- CSV and TSV --------------------------------------------------------------------------------
    Case(
        "unterminated_quote.csv", _csv('"an open quote,c', "p3,c3", "p4,c4"), "unterminated_quote"
    ),
    Case("wrong_field_count.csv", _csv("a,b,c", "only one"), "wrong_field_count"),
    Case("bad_utf8.csv", _csv(b"bad \xff\xfe bytes,c", "p3,c3"), "invalid_utf8"),
    Case("long_line.csv", _csv("p," + _big_text(BIG_ROW), "p3,c3"), "row_too_large"),
    Case("empty_cell.csv", _csv(",c"), "empty_prompt"),
    Case("bom.csv", lambda: codecs.BOM_UTF8 + GOOD_CSV.encode(), clean=True, rows=3),
    Case(
        "utf16le_bom.csv", _encoded("utf-16-le", codecs.BOM_UTF16_LE, GOOD_CSV), clean=True, rows=3
    ),
    Case("mixed_crlf.csv", lambda: GOOD_CSV.replace("\n", "\r\n", 2).encode(), clean=True, rows=3),
    Case("multiline_quoted.csv", _csv('"a prompt\nover two lines",c'), clean=True, rows=3),
    Case(
        "stray_quotes.tsv",
        lambda: b'prompt\tcompletion\nsay "hi\tok\nnext\t"quoted" answer\n',
        clean=True,
        rows=2,
    ),
    Case("header_only.csv", lambda: b"prompt,completion\n", error="no readable object rows"),
    Case(
        "bad_utf8_header.csv",
        lambda: b"pro\xffmpt,completion\np,c\n",
        error="invalid UTF-8 in the header line",
    ),
    Case("header_open_quote.csv", lambda: b'"prompt,completion\np,c\n', error="never closed"),
    # -- Parquet ------------------------------------------------------------------------------------
    Case(
        "wrong_types.parquet",
        _parquet({"prompt": ["a", "b", "c"], "completion": [1, 2, 3]}),
        "wrong_type",
    ),
    Case(
        "nan.parquet",
        _parquet(
            {
                "prompt": ["a", "b", "c"],
                "completion": ["x", "y", "z"],
                "score": [0.5, float("nan"), float("inf")],
            }
        ),
        "non_finite_number",
    ),
    Case(
        "good.parquet.gz",
        _gz(_parquet({"prompt": ["a", "b"], "completion": ["x", "y"]})),
        clean=True,
        rows=2,
    ),
    Case("corrupt.parquet", _corrupt_parquet, error="not a readable Parquet file"),
    Case(
        "truncated.parquet",
        lambda: _parquet({"prompt": ["a"] * 100, "completion": ["x"] * 100})()[:300],
        error="not a readable Parquet file",
    ),
    # -- not datasets at all -------------------------------------------------------------------------
    Case(
        "random.bin",
        lambda: random.Random(1).randbytes(4096),
        error="binary content",
    ),
    Case("data.jsonl.zst", lambda: b"\x28\xb5\x2f\xfd" + bytes(64), error="zstd-compressed"),
]


def write_corpus(folder: Path) -> dict[str, Path]:
    """Write every case's file into ``folder``; the paths by case name."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for case in CASES:
        path = folder / case.name
        path.write_bytes(case.make())
        paths[case.name] = path
    return paths


def run_cli_jobs(jobs_file: Path, results_file: Path, workers: int) -> None:
    """Run ``tunesmith`` command lines, each in a process of its own, ``workers`` at a time.

    Each job (``{"id", "args", "env", "stdout", "stderr"}``) runs in a child forked from this
    process after ``api.cli`` and the heavy lazy imports (pandas for DuckDB, matplotlib for the
    report) are loaded once: a child is a real process calling the console script's entry point,
    with its own exit status and its own peak RSS (``os.wait4``), without paying seconds of
    imports per run. Writes ``{id: [exit code, max RSS bytes]}`` to ``results_file``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    from api.cli import main

    jobs = json.loads(jobs_file.read_text())
    results: dict[str, list[int]] = {}
    running: dict[int, str] = {}
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    while jobs or running:
        while jobs and len(running) < workers:
            job = jobs.pop(0)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # the child: one CLI run
                code = 1
                try:
                    os.environ.update(job["env"])
                    for fd, name in ((1, "stdout"), (2, "stderr")):
                        os.dup2(os.open(job[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
                    main(job["args"])
                    code = 0
                except SystemExit as e:
                    code = e.code if isinstance(e.code, int) else 1
                except BaseException:
                    traceback.print_exc()
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            running[pid] = job["id"]
        pid, status, usage = os.wait4(-1, 0)
        results[running.pop(pid)] = [os.waitstatus_to_exitcode(status), usage.ru_maxrss * scale]
    results_file.write_text(json.dumps(results))


if __name__ == "__main__":
    if sys.argv[1] == "--run":
        run_cli_jobs(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
    else:
        for name, path in write_corpus(Path(sys.argv[1])).items():
            print(f"{path.stat().st_size:>10,}  {name}")
