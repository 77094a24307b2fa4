"""A habit-teaching task from GSM8K: solutions rewritten in a house format, plus a held-out pool.

The habit: the answer gives its reasoning, then ends with a line that is exactly
``{"answer": <number>}``. The source is GSM8K with ground-truth solutions and real model
solutions labelled right or wrong; the wrong ones stay in on purpose (they are the
contradictions an audit must find). The first questions are held out as the eval pool, so no
pool question ever enters the training set.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from curate.errors import InputError
from curate.text.answers import marked_number, strip_calculations

FORMAT_CHECK = {
    "type": "regex",
    "name": "answer_json_line",
    "pattern": r'(?m)^\{"answer": -?[0-9.]+\}\s*\Z',
    "kind": "format",
}
"""The habit: the answer ends with a line that is exactly ``{"answer": <number>}``."""


class HabitTaskConfig(BaseModel):
    """How many questions go where, and which model solutions join the ground truth."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pool_questions: int = Field(48, ge=1)
    """The first questions, held out as the pool the edge-case suite is mined from."""
    train_questions: int = Field(360, ge=1)
    """The next questions, whose ground-truth answers form the training set."""
    extra_share: float = Field(0.35, ge=0.0, le=1.0)
    """The share of training questions that also get the model solutions below."""
    extra_solutions: list[str] = ["175b_verification", "6b_finetuning"]
    """Model solutions added for those questions (right or wrong, as the source says)."""


def house_format(solution: str) -> str | None:
    """A GSM8K solution in the house format: the reasoning, then ``{"answer": N}``.

    Returns None when the solution has no final ``A: <number>`` line to rewrite.
    """
    text = strip_calculations(solution).strip()
    final = marked_number(text)
    # Only a closing "A: N" line is rewritten: a solution that ends otherwise is left out.
    if final is None or final.marker != "answer_line" or text[final.end :].strip():
        return None
    answer = int(final.value) if final.value.is_integer() else final.value
    return f"{text[: final.start].strip()}\n{json.dumps({'answer': answer})}"


def build_habit_task(
    source: str | Path, out: str | Path, config: HabitTaskConfig
) -> tuple[Path, Path]:
    """Write the training set (prompt/completion JSONL) and the held-out pool (JSONL).

    Args:
        source: GSM8K as JSONL: ``question``, ``ground_truth`` and model solutions by name
            (``{"<name>": {"solution": ...}}``).
        out: The folder that gets ``train.jsonl`` and ``pool.jsonl``.
        config: How many questions go where.

    Returns:
        The training set's path and the pool's path.

    Raises:
        InputError: the source is missing or has too few questions.
    """
    source, out = Path(source), Path(out)
    if not source.is_file():
        raise InputError(f"{source}: the task's source data is missing")
    rows = [json.loads(line) for line in source.open(encoding="utf-8") if line.strip()]
    need = config.pool_questions + config.train_questions
    if len(rows) < need:
        raise InputError(f"{source}: {len(rows)} questions, the task needs {need}")
    out.mkdir(parents=True, exist_ok=True)
    pool_path, train_path = out / "pool.jsonl", out / "train.jsonl"
    with pool_path.open("w", encoding="utf-8") as f:
        for row in rows[: config.pool_questions]:
            f.write(
                json.dumps(
                    {
                        "question": row["question"],
                        "ground_truth": row["ground_truth"],
                        "checks": [FORMAT_CHECK, {"type": "numeric"}],
                    }
                )
                + "\n"
            )
    rng = random.Random(0)
    with train_path.open("w", encoding="utf-8") as f:
        for row in rows[config.pool_questions : need]:
            answers = [row["ground_truth"]]
            if rng.random() < config.extra_share:
                answers += [row[k]["solution"] for k in config.extra_solutions if k in row]
            for answer in answers:
                completion = house_format(answer)
                if completion is not None:
                    f.write(
                        json.dumps({"prompt": row["question"], "completion": completion}) + "\n"
                    )
    return train_path, pool_path
