"""The gated hyperparameter sweep: grid parsing, the choice of the best passing point, the
learn/forget figures, and a real two-point sweep on the built-in model that resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.sweep import SweepPoint, choose, parse_grid, points_of
from curate import ConfigError


def test_grids_parse_with_aliases_and_refuse_unknown_fields() -> None:
    grid = parse_grid(["lr=1e-4,3e-4", "r=8,16", "epochs=1"])
    assert grid == {"learning_rate": [1e-4, 3e-4], "rank": [8, 16], "epochs": [1]}
    assert len(points_of(grid)) == 4 and points_of(grid)[1] == {
        "learning_rate": 1e-4,
        "rank": 16,
        "epochs": 1,
    }
    with pytest.raises(ConfigError, match="FIELD=V1"):
        parse_grid(["optimizer=adam"])
    with pytest.raises(ConfigError, match="not a number"):
        parse_grid(["r=eight"])


def _point(name: str, gate: str, gain: float, forgetting: float) -> SweepPoint:
    return SweepPoint(
        name=name,
        settings={},
        status="completed",
        gate=gate,
        gain=gain,
        forgetting=forgetting,
        folder=name,
    )


def test_the_best_point_passes_the_gate_first_and_learns_most_second() -> None:
    points = [
        _point("hot", "fail", 0.40, 0.30),  # learns most, forgets too much: the gate fails it
        _point("warm", "pass", 0.25, 0.02),
        _point("warm2", "pass", 0.25, 0.00),
        _point("cold", "inconclusive", 0.01, 0.0),
    ]
    best, reason = choose(points)
    assert best == "warm2" and "2 of 4 points passed" in reason
    best, reason = choose([points[0], points[3]])
    assert best is None and "hot: fail" in reason


@pytest.mark.slow
def test_a_two_point_sweep_runs_gates_and_resumes(
    tmp_path: Path, smollm2_path: str, home: Path
) -> None:
    import train
    from api.sweep import sweep
    from curate import SamplingParams
    from evalsuite import EvalConfig

    items = ["apple", "river", "lamp", "cloud", "stone", "violin", "garden", "rocket"]
    habit_rows = [
        {
            "prompt": f"Describe a {w} in one line.",
            "completion": json.dumps({"item": w, "ok": True}),
        }
        for w in items
    ]
    data = tmp_path / "habit.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in habit_rows))
    suite = tmp_path / "suite.jsonl"
    suite.write_text(
        "".join(
            json.dumps({"id": f"h{i}", "prompt": r["prompt"], "checks": [{"type": "json_valid"}]})
            + "\n"
            for i, r in enumerate(habit_rows[:6])
        )
    )
    config = train.TrainConfig(
        base_model=smollm2_path,
        target_modules=["q_proj", "v_proj"],
        max_steps=2,
        batch_size=2,
        max_length=64,
        eval_fraction=0.0,
        save_every=2,
    )
    eval_config = EvalConfig(params=SamplingParams(temperature=0.0, max_tokens=24), probe=False)
    grid = {"learning_rate": [1e-4, 1e-3]}
    first = sweep(
        data,
        config,
        grid,
        suite=suite,
        out_dir=tmp_path / "sweep",
        probes=(),
        eval_config=eval_config,
    )
    assert [p.name for p in first.points] == ["learning_rate=0.0001", "learning_rate=0.001"]
    for p in first.points:
        assert p.status == "completed" and p.gate in ("pass", "fail", "inconclusive")
        assert (Path(p.folder) / "eval" / "compare").is_dir()
    for name in ("sweep.json", "sweep.md", "sweep.html"):
        assert (tmp_path / "sweep" / name).is_file()
    assert "<svg" in (tmp_path / "sweep" / "sweep.html").read_text()
    seen: list[str] = []
    again = sweep(
        data,
        config,
        grid,
        suite=suite,
        out_dir=tmp_path / "sweep",
        probes=(),
        eval_config=eval_config,
        progress=lambda n, i, t: seen.append(n),
    )
    assert again.points == first.points and len(seen) == 2  # every point read back, none redone
