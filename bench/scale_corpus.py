"""A corpus of real instruction texts at any size, with planted exact and edited copies.

Texts come from ``../shared/data``: Alpaca (random 9k and the LLaMA-Factory demo), the first turn
of HH-RLHF's harmless transcripts, and MRPC sentence pairs (sentence 1 as the instruction,
sentence 2 as the answer). About 70% of the rows are originals (the real rows, then real
instructions paired with real answers of other rows once the real rows run out), 15% exact copies
and 15% lightly edited copies (a word dropped, two words swapped, or case and punctuation
changed) of earlier rows. Everything is seeded: the same ``n`` gives the same rows.

Used by ``bench/ray_scale.py`` and the scale tests (``tests/scale``).
"""

from __future__ import annotations

import csv
import gzip
import json
import random
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def base_rows(data: Path = DATA) -> list[dict[str, str]]:
    """The real rows, in Alpaca form (``instruction``, ``input``, ``output``)."""
    rows: list[dict[str, str]] = []
    for name in ("alpaca_random_9k.json", "alpaca_en_demo.json"):
        for r in json.loads((data / name).read_text(encoding="utf-8")):
            rows.append({k: str(r.get(k) or "") for k in ("instruction", "input", "output")})
    with gzip.open(data / "hh_rlhf_harmless_base_test.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            turns = json.loads(line)["chosen"].split("\n\nAssistant:")
            if len(turns) > 1:
                human = turns[0].replace("\n\nHuman:", "").strip()
                answer = turns[1].split("\n\nHuman:")[0].strip()
                rows.append({"instruction": human, "input": "", "output": answer})
    with (data / "mrpc_train.tsv").open(encoding="utf-8-sig") as f:
        for rec in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            rows.append({"instruction": rec["#1 String"], "input": "", "output": rec["#2 String"]})
    return [r for r in rows if r["instruction"].strip() and r["output"].strip()]


def _edit(text: str, rnd: random.Random) -> str:
    words = text.split(" ")
    how = rnd.randrange(3)
    if how == 0 and len(words) > 4:
        del words[rnd.randrange(len(words))]
    elif how == 1 and len(words) > 4:
        i = rnd.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    else:
        return text.upper() + "!" if len(text) < 40 else text[:-1] + "?!"
    return " ".join(words)


def build(n: int, data: Path = DATA, seed: int = 0) -> list[dict[str, str]]:
    """``n`` Alpaca rows: originals, then planted exact and edited copies, shuffled.

    Returns:
        The rows; each has a ``planted`` key: ``""`` (original), ``exact`` or ``edited``.
    """
    rnd = random.Random(seed)
    base = base_rows(data)
    n_orig = max(1, int(n * 0.7))
    originals = [dict(r, planted="") for r in base[:n_orig]]
    while len(originals) < n_orig:
        a, b = rnd.randrange(len(base)), rnd.randrange(len(base))
        originals.append(
            {
                "instruction": base[a]["instruction"],
                "input": base[a]["input"],
                "output": base[b]["output"],
                "planted": "",
            }
        )
    rows = list(originals)
    while len(rows) < n:
        src = originals[rnd.randrange(n_orig)]
        if rnd.random() < 0.5:
            rows.append(dict(src, planted="exact"))
        else:
            rows.append(dict(src, output=_edit(src["output"], rnd), planted="edited"))
    rnd.shuffle(rows)
    return rows


def write_jsonl(rows: list[dict[str, str]], folder: Path, shard_rows: int) -> list[Path]:
    """Write rows as JSONL shards ``part-00000.jsonl``, ... (the ``planted`` key left out)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, lo in enumerate(range(0, len(rows), shard_rows)):
        path = folder / f"part-{i:05d}.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for r in rows[lo : lo + shard_rows]:
                f.write(json.dumps({k: v for k, v in r.items() if k != "planted"}) + "\n")
        paths.append(path)
    return paths
