"""The gated hyperparameter sweep: grid parsing, the choice of the best passing point, the
learn/forget figures, and a real two-point sweep on the built-in model that resumes."""

from __future__ import annotations

import json
import os
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


def test_a_sweep_job_refuses_fields_no_sweep_may_vary() -> None:
    from pydantic import ValidationError

    from api.jobs.runners import parse_request

    body = {
        "type": "sweep",
        "dataset_id": "d1",
        "config": {"base_model": "smollm2-135m"},
        "suite": {"name": "s", "cases": [{"id": "a", "prompt": "hi"}]},
    }
    job = parse_request({**body, "grid": {"learning_rate": [1e-4, 1e-3], "rank": [8]}})
    assert job.type == "sweep" and job.executor.kind == "local"  # type: ignore[attr-defined]
    grids: list[dict[str, list[float]]] = [
        {"optimizer": [1.0]},
        {"rank": []},
        {"rank": [float(r) for r in range(1, 17)], "epochs": [1.0] * 5},
    ]
    for grid in grids:
        with pytest.raises(ValidationError):
            parse_request({**body, "grid": grid})
    with pytest.raises(ValidationError, match="address"):
        parse_request({**body, "grid": {"rank": [8]}, "executor": {"kind": "ray", "address": "x"}})
    with pytest.raises(ValidationError, match="dataset"):
        parse_request(
            {**body, "grid": {"rank": [8]}, "config": {"base_model": "x", "dataset": "/etc"}}
        )
    with pytest.raises(ValidationError, match="init_adapter"):
        parse_request(
            {**body, "grid": {"rank": [8]}, "config": {"base_model": "x", "init_adapter": "/etc"}}
        )
    # values a field cannot take are refused before any point trains, naming the point
    for grid, point in (({"rank": [8, 8.5]}, "rank=8.5"), ({"dropout": [0.1, 2.0]}, "dropout=2")):
        with pytest.raises(ValidationError, match=f"grid point {point}"):
            parse_request({**body, "grid": grid})


def test_the_cli_sweep_refuses_a_point_that_cannot_train_before_training(tmp_path: Path) -> None:
    from api.sweep import sweep
    from train import TrainConfig

    with pytest.raises(ConfigError, match="grid point rank=0"):
        sweep(
            tmp_path / "none.jsonl",
            TrainConfig(base_model="smollm2-135m"),
            {"rank": [8, 0]},
            suite=tmp_path / "none.jsonl",
            out_dir=tmp_path / "sweep",
        )
    assert not (tmp_path / "sweep" / "points").exists()


def _habit(tmp_path: Path) -> tuple[list[dict], Path]:
    items = ["apple", "river", "lamp", "cloud", "stone", "violin"]
    rows = [
        {
            "prompt": f"Describe a {w} in one line.",
            "completion": json.dumps({"item": w, "ok": True}),
        }
        for w in items
    ]
    suite = tmp_path / "suite.jsonl"
    suite.write_text(
        "".join(
            json.dumps({"id": f"h{i}", "prompt": r["prompt"], "checks": [{"type": "json_valid"}]})
            + "\n"
            for i, r in enumerate(rows[:3])
        )
    )
    return rows, suite


TINY = {
    "target_modules": ["q_proj", "v_proj"],
    "max_steps": 1,
    "batch_size": 2,
    "max_length": 48,
    "eval_fraction": 0.0,
    "save_every": 1,
}
"""One optimizer step per point: the plumbing is under test here, not the learning."""


@pytest.mark.slow
def test_a_sweep_runs_as_a_rest_job_and_keeps_every_points_artifacts(tmp_path: Path) -> None:
    """A real ``tunesmith serve`` on 127.0.0.1: upload, submit a two-point sweep job, follow it
    to the end, and find the choice, the reports and each point's adapter and evaluation."""
    from evalsuite import load_suite
    from tests.api.conftest import Server, new_key

    home = tmp_path / "home"
    home.mkdir()
    key = new_key(home, "sweeper")
    server = Server(home, ["--jobs", "sweep=1"]).start()
    rows, suite_file = _habit(tmp_path)
    try:
        with server.client(key) as c:
            dataset = c.create_dataset("habit", rows)
            job = c.submit(
                {
                    "type": "sweep",
                    "dataset_id": dataset.id,
                    "config": {"base_model": "smollm2-135m", **TINY},
                    "grid": {"learning_rate": [1e-4, 1e-3]},
                    "suite": load_suite(suite_file).model_dump(mode="json", exclude_none=True),
                    "probes": [],
                    "max_tokens": 8,
                }
            )
            done = c.wait(job.id, timeout=1500)
            assert done.state == "succeeded", (done.error, server.log()[-3000:])
            assert done.type == "sweep"
            result = done.result
            assert result is not None
            names = [p["name"] for p in result["points"]]
            assert names == ["learning_rate=0.0001", "learning_rate=0.001"]
            for p in result["points"]:
                assert p["status"] == "completed" and p["gate"] in ("pass", "fail", "inconclusive")
            files = {a.name for a in c.artifacts(job.id).data}
            assert {"sweep.json", "sweep.md", "sweep.html"} <= files
            for name in names:
                for part in (
                    "point.json",
                    "adapter/adapter_config.json",
                    "compare/comparison.json",
                ):
                    assert f"points/{name}/{part}" in files, (part, sorted(files))
            progress = [e.data for e in c.events(job.id).data if e.type == "progress"]
            assert [e["point"] for e in progress] == names
            c.download(job.id, "sweep.html", tmp_path / "sweep.html")
            assert "<svg" in (tmp_path / "sweep.html").read_text()
    finally:
        server.stop()


@pytest.mark.slow
def test_a_sweep_spreads_its_points_over_local_ray_workers(
    tmp_path: Path, smollm2_path: str, home: Path
) -> None:
    """Two points as two Ray tasks on a local Ray instance: each trains in a worker process of
    its own, and the sweep's result and folders are what a local sweep writes."""
    import os

    import train
    from api.sweep import SweepExecutor, sweep
    from curate import SamplingParams
    from evalsuite import EvalConfig

    rows, suite = _habit(tmp_path)
    data = tmp_path / "habit.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = train.TrainConfig(base_model=smollm2_path, **TINY)
    result = sweep(
        data,
        config,
        {"learning_rate": [1e-4, 1e-3]},
        suite=suite,
        out_dir=tmp_path / "sweep",
        probes=(),
        eval_config=EvalConfig(params=SamplingParams(temperature=0.0, max_tokens=8), probe=False),
        executor=SweepExecutor(kind="ray", num_cpus=2, cpus_per_point=1),
    )
    assert [p.name for p in result.points] == ["learning_rate=0.0001", "learning_rate=0.001"]
    workers = {p.ran_on for p in result.points}
    assert len(workers) == 2 and all(w and not w.endswith(f":{os.getpid()}") for w in workers)
    for p in result.points:
        assert p.status == "completed" and (Path(p.folder) / "eval" / "compare").is_dir()
    assert (tmp_path / "sweep" / "sweep.json").is_file()


def _demo_task(shared: Path, out: Path):
    """The demo's task, cut to fit a test: the demo's GSM8K questions and its habit check (the
    answer ends with the line ``{"answer": N}``), trained on that line alone (the demo trains on
    the reasoning before it too, which takes minutes per point here), and 20 held-out questions
    with both capability probes (ifeval, refusal: 80 cases) beside them.

    Beside the 60 habit rows go 60 short general instructions with their answers (Alpaca, from
    alpaca_en_demo.json), the replay a practitioner mixes in: trained on the habit line alone, a
    gentle point answers *every* prompt with ``{"answer": N}`` and rightly fails the benign
    probe (measured: the base answers 23 of its 25 prompts, such a point none), so no point
    could pass."""
    import re

    from curate import HabitTaskConfig, build_habit_task
    from evalsuite import Suite, with_probes

    train_path, pool_path = build_habit_task(
        shared / "gsm8k_example_model_solutions.jsonl",
        out,
        HabitTaskConfig(pool_questions=20, train_questions=60, extra_share=0.0),
    )
    short = out / "train_short.jsonl"
    general = [
        r
        for r in json.loads((shared / "alpaca_en_demo.json").read_text())
        if len(f"{r['instruction']} {r['input']} {r['output']}".split()) <= 60
        and len(r["output"].split()) >= 5  # fits max_length 128, and is an answer
    ][:60]
    with short.open("w") as f:
        for line in train_path.read_text().splitlines():
            row = json.loads(line)
            last = row["completion"].splitlines()[-1]  # the habit's line: {"answer": N}
            f.write(json.dumps({"prompt": row["prompt"], "completion": last}) + "\n")
        for r in general:
            prompt = r["instruction"] + (f"\n\n{r['input']}" if r["input"] else "")
            f.write(json.dumps({"prompt": prompt, "completion": r["output"]}) + "\n")
    cases = []
    for i, line in enumerate(pool_path.read_text().splitlines()):
        row = json.loads(line)
        answer = re.search(r"A: *(-?[0-9][0-9,.]*)\s*$", row["ground_truth"])
        assert answer is not None
        cases.append(
            {
                "id": f"gsm{i}",
                "prompt": row["question"],
                "reference": float(answer[1].replace(",", "")),
                "checks": row["checks"],
            }
        )
    return short, with_probes(Suite(name="habit", cases=cases), ["ifeval", "refusal"])


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("TUNESMITH_LONG_TESTS") != "1",
    reason="about 30 minutes on two cores: set TUNESMITH_LONG_TESTS=1 (docs/benchmarks.md has "
    "the figures of its last run)",
)
@pytest.mark.timeout(3600)  # four trainings and five evaluations of 100 cases on two cores
def test_a_four_point_sweep_on_the_demo_task_refuses_the_destructive_points(
    tmp_path: Path, smollm2_path: str, home: Path, shared_data: Path
) -> None:
    """learning rate × rank on the demo's habit, on the CPU: the gentle points learn the habit
    and pass the demo's gate; the points with a very high learning rate are caught by the
    capability probes and refused; the choice is the passing point with the largest gain in the
    habit policy's target metric (``format_pass``). The watchdog is made lenient so that the
    destructive points reach the gate (it would otherwise stop a run whose loss blows up) and
    the probes are what catches them."""
    import train
    from api.sweep import sweep
    from curate import SamplingParams
    from evalsuite import EvalConfig, load_policy

    data, suite = _demo_task(shared_data, tmp_path / "task")
    config = train.TrainConfig(
        base_model=smollm2_path,
        max_steps=32,
        batch_size=4,
        max_length=128,
        eval_fraction=0.0,
        save_every=32,
        diverge_factor=1e9,
        seed=42,
    )
    policy = load_policy(_shipped("policies/habit.toml"))  # the demo's gate policy, as shipped
    result = sweep(
        data,
        config,
        {"learning_rate": [2e-3, 1e-1], "rank": [4, 8]},
        suite=suite,
        out_dir=tmp_path / "sweep",
        probes=(),  # already in the suite, as probe:ifeval and probe:refusal
        policy=policy,
        eval_config=EvalConfig(
            params=SamplingParams(temperature=0.0, max_tokens=96),
            probe=False,
            backend_options={"threads": 2},
        ),
    )
    by_name = {p.name: p for p in result.points}
    summary = {p.name: (p.status, p.gate, p.gain, p.forgetting) for p in result.points}
    print(result.model_dump_json(indent=2))  # the figures, for the benchmark notes (-s)
    assert result.target == "format_pass"
    assert len(result.points) == 4 and all(p.status == "completed" for p in result.points), summary
    for rank in (4, 8):
        hot = by_name[f"learning_rate=0.1,rank={rank}"]
        assert hot.gate == "fail", summary
        assert any("@probe:" in r and "regressed" in r for r in hot.gate_reasons), hot.gate_reasons
        assert (hot.forgetting or 0) > 0.2
    passed = [p for p in result.points if p.gate == "pass"]
    assert passed, summary
    assert all(p.settings["learning_rate"] == 2e-3 for p in passed)
    best = max(passed, key=lambda p: (p.gain or 0.0, -(p.forgetting or 0.0)))
    assert result.best == best.name, (result.best, summary)


def _shipped(name: str) -> str:
    from importlib import resources

    return str(resources.files("tunesmith_data") / name)
