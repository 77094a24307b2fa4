"""``evaluate_pair``: base and tuned on one suite, compared, written in one layout."""

from __future__ import annotations

from pathlib import Path

from curate import Generation, Message, SamplingParams
from evalsuite import (
    CompareConfig,
    EvalConfig,
    Suite,
    evaluate_pair,
    load_comparison,
    load_run,
)


class HabitModel:
    """A fake model: the base answers in prose, base + adapter in the JSON habit."""

    backend = "fake"
    model = "habit"

    def __init__(self) -> None:
        self.params: list[SamplingParams] = []

    def generate(
        self, chats: list[list[Message]], params: SamplingParams, adapter: str | None = None
    ) -> list[Generation]:
        self.params.append(params)
        text = '3 + 4 = 7\n{"answer": 7}' if adapter else "The answer is 7."
        return [Generation(text=text, finish_reason="stop") for _ in chats]


def _suite(n: int = 12) -> Suite:
    check = {
        "type": "regex",
        "name": "json_line",
        "pattern": r'\{"answer": \d+\}\s*\Z',
        "kind": "format",
    }
    return Suite.model_validate(
        {
            "name": "habit",
            "cases": [
                {
                    "id": f"c{i}",
                    "prompt": f"What is 3 + 4? ({i})",
                    "reference": "7",
                    "checks": [check, {"type": "numeric"}],
                }
                for i in range(n)
            ],
        }
    )


def test_base_and_tuned_are_run_compared_and_written(tmp_path: Path) -> None:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    model = HabitModel()
    config = EvalConfig(params=SamplingParams(max_tokens=32), probe=False)
    steps: list[tuple[str, int, int]] = []
    pair = evaluate_pair(
        _suite(),
        "habit",
        adapter,
        out_dir=tmp_path / "eval",
        config=config,
        compare=CompareConfig(n_boot=200),
        generator=model,
        progress=lambda *a: steps.append(a),
    )

    assert steps == [("base", 0, 2), ("tuned", 1, 2)]
    assert {p.max_tokens for p in model.params} == {32}  # the config reached both runs
    assert pair.tuned is not None and pair.comparison is not None
    assert pair.base.summary()["format_pass"] == 0.0 and pair.tuned.summary()["format_pass"] == 1.0
    fmt = pair.comparison.delta("format_pass")
    assert fmt is not None and fmt.outcome == "improved"
    assert pair.comparison.tuned.adapter == str(adapter.resolve())
    # one layout: each run as save_run writes it, the comparison as the gate reads it
    out = tmp_path / "eval"
    assert load_run(out / "base").cases == pair.base.cases
    assert load_run(out / "tuned").manifest.adapter_sha256 is not None
    assert load_comparison(out / "compare") == pair.comparison
    assert {p.name for p in (out / "compare").iterdir()} == {
        "comparison.json",
        "report.md",
        "report.html",
    }


def test_without_an_adapter_only_the_base_runs(tmp_path: Path) -> None:
    model = HabitModel()
    pair = evaluate_pair(
        _suite(3), "habit", None, out_dir=tmp_path, config=EvalConfig(probe=False), generator=model
    )
    assert pair.tuned is None and pair.comparison is None and len(model.params) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base"]
    assert len(load_run(tmp_path / "base").cases) == 3
