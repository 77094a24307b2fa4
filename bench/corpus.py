"""Benchmark corpora built from the real texts in ../shared/data, with planted duplicates.

Every string of 20+ characters in the shared data files (instructions, answers, dialogue turns,
paraphrase sentences, maths solutions) is split into sentences; about 120k distinct sentences
remain. An *original* record joins one sentence as the prompt with one to three as the answer,
drawn at random, so originals are real text but (almost surely) not duplicates of each other.
Then copies are planted, each labelled with the original it copies:

- ``exact``: the same text with cosmetic changes only (case, spacing, trailing punctuation),
  equal after normalisation;
- ``edited``: one to three light edits (a word dropped, doubled or swapped with its neighbour,
  a one-letter typo), what paraphrasing scripts and copy-paste leave behind.

    .venv/bin/python bench/corpus.py --n 200000 --out /tmp/corpus.parquet
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
from pathlib import Path

import polars as pl

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _strings(value: object, out: list[str]) -> None:
    if isinstance(value, str):
        if len(value) >= 20:
            out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)


def sentences(data: Path = DATA) -> list[str]:
    """Distinct sentences (25-300 characters) from every data file, in a stable order."""
    texts: list[str] = []
    for path in sorted(data.iterdir()):
        name = path.name
        if name.endswith(".json"):
            _strings(json.loads(path.read_text(encoding="utf-8")), texts)
        elif name.endswith((".jsonl", ".jsonl.gz")):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        _strings(json.loads(line), texts)
        elif name.endswith(".tsv"):
            # MRPC: quoting off, the two sentences are the 4th and 5th fields.
            for line in path.read_text(encoding="utf-8-sig").splitlines()[1:]:
                texts += [s for s in line.split("\t")[3:] if len(s) >= 20]
    found: dict[str, None] = {}
    for text in texts:
        for s in re.split(r"(?<=[.!?])\s+|\n+", text):
            s = s.strip()
            if 25 <= len(s) <= 300:
                found.setdefault(s)
    return list(found)


def _cosmetic(text: str, rng: random.Random) -> str:
    choice = rng.randrange(3)
    if choice == 0:
        return text.upper() if rng.random() < 0.2 else text.lower()
    if choice == 1:
        return "  " + text.replace(" ", "  ", 3) + " "
    return text.rstrip(".!?") + rng.choice(["", ".", "!", " ."])


def _edit(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    for _ in range(rng.randint(1, 3)):
        if len(words) < 3:
            break
        i = rng.randrange(len(words) - 1)
        kind = rng.randrange(4)
        if kind == 0:
            del words[i]
        elif kind == 1:
            words.insert(i, words[i])
        elif kind == 2:
            words[i], words[i + 1] = words[i + 1], words[i]
        elif words[i]:
            j = rng.randrange(len(words[i]))
            words[i] = words[i][:j] + rng.choice("etaoinshrdlu") + words[i][j + 1 :]
    return " ".join(words)


def build(n: int, exact_rate: float = 0.1, edited_rate: float = 0.1, seed: int = 0) -> pl.DataFrame:
    """A corpus of ``n`` records: ``prompt``, ``completion``, ``source`` (the original's number,
    the truth cluster), ``kind`` (``original``, ``exact``, ``edited``), shuffled."""
    rng = random.Random(seed)
    pool = sentences()
    n_orig = n - int(n * exact_rate) - int(n * edited_rate)
    prompts, answers, source, kind = [], [], [], []
    for i in range(n_orig):
        prompts.append(rng.choice(pool))
        answers.append(" ".join(rng.choice(pool) for _ in range(rng.randint(1, 3))))
        source.append(i)
        kind.append("original")
    for label, rate in (("exact", exact_rate), ("edited", edited_rate)):
        change = _cosmetic if label == "exact" else _edit
        for _ in range(int(n * rate)):
            i = rng.randrange(n_orig)
            p, a = prompts[i], answers[i]
            if label == "exact" or rng.random() < 0.5:
                a = change(a, rng)
            else:
                p = change(p, rng)
            prompts.append(p)
            answers.append(a)
            source.append(i)
            kind.append(label)
    order = list(range(n))
    rng.shuffle(order)
    return pl.DataFrame({"prompt": prompts, "completion": answers, "source": source, "kind": kind})[
        order
    ]


def to_records(corpus: pl.DataFrame) -> pl.DataFrame:
    """The corpus as a frame of ``RECORD_SCHEMA`` (one user and one assistant message each)."""
    from curate.records import MESSAGE, RECORD_SCHEMA

    def message(role: str, column: str) -> pl.Expr:
        fields = [pl.lit(role).alias("role"), pl.col(column).alias("content")]
        fields += [
            pl.lit(None, dtype=f.dtype).alias(f.name)
            for f in MESSAGE.fields
            if f.name not in ("role", "content")
        ]
        return pl.concat_list(pl.struct(fields))

    columns = {
        "id": pl.format("r{}", pl.col("row")),
        "kind": pl.lit("sft"),
        "prompt": message("user", "prompt"),
        "completion": message("assistant", "completion"),
        "source_file": pl.lit("corpus"),
        "row": pl.col("row").cast(pl.Int64),
        "meta": pl.lit("{}"),
    }
    return corpus.with_row_index("row").select(
        columns[name].cast(dtype).alias(name)
        if name in columns
        else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in RECORD_SCHEMA.items()
    )


def main() -> None:
    """Build a corpus and write it to Parquet."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    corpus = build(args.n, seed=args.seed)
    corpus.write_parquet(args.out)
    print(
        f"{len(corpus):,} records -> {args.out}: {corpus['kind'].value_counts().sort('kind').rows()}"
    )


if __name__ == "__main__":
    main()
