"""How often a judge agrees with humans: the likelihood judge and the generative judge, side by side.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/judge_agreement.py [--n 200] [--generative-n 200]
[--model smollm2-135m] [--seed 0]``.

Data: ``../shared/data/hh_rlhf_harmless_base_test.jsonl.gz`` (Anthropic HH-RLHF, harmless-base
test split): each row is one conversation ending in the answer humans chose and the one they
rejected. The prompt is the shared conversation up to the last ``Assistant:`` turn; the two
answers are what follows it. A fixed seeded sample of pairs is judged; conversations longer than
``--max-prompt-chars`` or answers longer than ``--max-answer-chars`` are left out before sampling
(to bound CPU time; it biases the sample towards short conversations), and so are pairs whose
two answers are identical.

For each judge it prints:

- agreement: share of sampled pairs where the judge's verdict is the humans' chosen answer, with
  a 95% Wilson interval (a tie or an invalid verdict counts as disagreement);
- position consistency: share of pairs where the *same answer* is preferred in both orders
  (1.0: position-blind). A judge that always names the letter shown first ("A") prefers a
  different answer in each order, so its consistency is 0, not 1;
- first-position rate: share of single-order verdicts that picked the answer shown first.

For the likelihood judge it also splits each pair's two margins (``log p(A) - log p(B)`` in
each order) into a *position* part, ``(m1 - m2) / 2`` (the same in both orders, for the letter
A), and a *content* part, ``(m1 + m2) / 2`` (the verdict): where the position part is larger
than the content part in magnitude, both orders pick "A" and the pair is inconsistent.

The likelihood judge's verdict is the mean of both orders' A-vs-B log-probability margins
(``curate.synth.likelihood``); the generative judge's is evalsuite's blind pairwise JSON judge
(``evalsuite.judge_pairs``), whose verdict counts only when both orders agree.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curate.models.backends import get_generator  # noqa: E402
from curate.store.store import Store  # noqa: E402
from curate.synth.likelihood import LikelihoodJudge, position_consistency  # noqa: E402
from evalsuite.judge import EvalJudgeConfig, PairItem, judge_pairs  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "hh_rlhf_harmless_base_test.jsonl.gz"
TURN = "\n\nAssistant:"


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The 95% Wilson score interval of ``k / n``."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def load_pairs(
    path: Path, n: int, seed: int, max_prompt: int, max_answer: int
) -> list[tuple[str, str, str]]:
    """A seeded sample of (prompt, chosen, rejected) from HH-RLHF rows."""
    usable = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            cut_c, cut_r = row["chosen"].rfind(TURN), row["rejected"].rfind(TURN)
            prompt = row["chosen"][:cut_c].strip()
            if cut_c < 0 or prompt != row["rejected"][:cut_r].strip():
                continue
            chosen = row["chosen"][cut_c + len(TURN) :].strip()
            rejected = row["rejected"][cut_r + len(TURN) :].strip()
            if (
                chosen
                and rejected
                and chosen != rejected
                and len(prompt) <= max_prompt
                and max(len(chosen), len(rejected)) <= max_answer
            ):
                usable.append((prompt, chosen, rejected))
    random.Random(seed).shuffle(usable)
    return usable[:n]


def line(name: str, agree: int, n: int, consistency: float | None, first: float | None) -> str:
    low, high = wilson(agree, n)
    cons = f"{consistency:.3f}" if consistency is not None else "n/a"
    firsts = f"{first:.3f}" if first is not None else "n/a"
    return (
        f"| {name} | {n} | {agree / n:.3f} [{low:.3f}, {high:.3f}] | {cons} | {firsts} |"
        if n
        else f"| {name} | 0 | n/a | n/a | n/a |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="pairs for the likelihood judge")
    parser.add_argument(
        "--generative-n",
        type=int,
        default=200,
        help="pairs (a prefix of the same sample) for the generative judge",
    )
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-prompt-chars", type=int, default=1000)
    parser.add_argument("--max-answer-chars", type=int, default=400)
    parser.add_argument("--generative-max-tokens", type=int, default=96)
    parser.add_argument("--generative-retries", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--store", default=None, help="a store (DuckDB file, or a folder for one) for the cache"
    )
    args = parser.parse_args()

    pairs = load_pairs(DATA, args.n, args.seed, args.max_prompt_chars, args.max_answer_chars)
    where = Path(args.store) if args.store else None
    if where is not None and where.is_dir():
        where = where / "tunesmith.duckdb"
    store = Store(where) if where is not None else None
    gen = get_generator(
        "transformers", args.model, store=store, cache=store is not None, threads=args.threads
    )
    print(
        f"{len(pairs)} HH-RLHF harmless-base test pairs (seed {args.seed}, prompts <= "
        f"{args.max_prompt_chars} chars, answers <= {args.max_answer_chars}); model {args.model}"
    )
    rows = []

    t = time.perf_counter()
    scores = LikelihoodJudge(gen).compare(pairs)
    seconds = time.perf_counter() - t
    agree = sum(s.prefers == "a" for s in scores)
    first = sum(s.first_position_picks for s in scores) / (2 * len(scores))
    rows.append(line("likelihood", agree, len(scores), position_consistency(scores), first))
    print(
        f"likelihood: {seconds:.0f} s; per-order agreement "
        f"{sum(s.a_shown_first > 0 for s in scores) / len(scores):.3f} (chosen shown first), "
        f"{sum(s.a_shown_second > 0 for s in scores) / len(scores):.3f} (chosen shown second)"
    )
    position = [(s.a_shown_first - s.a_shown_second) / 2 for s in scores]
    content = [s.margin for s in scores]
    print(
        f"likelihood margins (nats): position part (log p(A) - log p(B), both orders) mean "
        f"{mean(position):+.3f}, min {min(position):+.3f}, max {max(position):+.3f}; content part "
        f"mean |m| {mean([abs(c) for c in content]):.3f}, max |m| "
        f"{max(abs(c) for c in content):.3f}; pairs with |content| > |position|: "
        f"{sum(abs(c) > abs(p) for c, p in zip(content, position, strict=True))}/{len(scores)}"
    )

    subset = pairs[: args.generative_n]
    if subset:
        t = time.perf_counter()
        items = [
            PairItem(case_id=str(i), prompt=p, base=c, tuned=r)
            for i, (p, c, r) in enumerate(subset)
        ]
        config = EvalJudgeConfig(
            model=args.model,
            kind="generative",
            max_tokens=args.generative_max_tokens,
            max_retries=args.generative_retries,
        )
        summary = judge_pairs(gen, items, config)
        seconds = time.perf_counter() - t
        agree = summary.base_wins  # "base" is the humans' chosen answer here
        rows.append(
            line(
                "generative (JSON)",
                agree,
                len(subset),
                summary.position_consistency,
                summary.first_position_rate,
            )
        )
        orders = [o for j in summary.judgments for o in (j.base_first, j.tuned_first)]
        valid = sum(o != "invalid" for o in orders)
        print(
            f"generative: {seconds:.0f} s; invalid pairs {summary.invalid}, ties or flips "
            f"{summary.ties}, chosen {summary.base_wins}, rejected {summary.tuned_wins}, retries "
            f"{summary.retries}; valid single-order verdicts {valid}/{len(orders)}"
        )
        # the likelihood judge on the very same subset, for a paired look
        same = scores[: len(subset)]
        rows.append(
            line(
                "likelihood, same subset",
                sum(s.prefers == "a" for s in same),
                len(same),
                position_consistency(same),
                sum(s.first_position_picks for s in same) / (2 * len(same)),
            )
        )

    print(
        "\n| judge | pairs | agreement with humans [95% Wilson] | position consistency | first-position rate |"
    )
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    if store is not None:
        store.close()


if __name__ == "__main__":
    main()
