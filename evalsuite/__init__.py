"""evalsuite: compare a tuned model with its base on a static suite of edge cases, and gate it.

    suite = load_suite("data/suites/gsm8k_numeric.jsonl")
    base = run(suite, "smollm2-135m")
    tuned = run(suite, "smollm2-135m", adapter="runs/adapter")
    decision = gate(compare(base, tuned), load_policy("data/policies/default.toml"))

or, both runs and the comparison in one call that writes ``base/``, ``tuned/`` and ``compare/``::

    pair = evaluate_pair(suite, "smollm2-135m", "runs/adapter", out_dir="runs/eval")

Importing ``evalsuite`` loads no torch, transformers, vllm, trl or peft.
"""

from evalsuite.blind import BlindResult, export_blind, import_blind
from evalsuite.checks import CHECK_TYPES, Check, CheckResult
from evalsuite.compare import (
    CasePair,
    CompareConfig,
    Comparison,
    ManifestMismatch,
    MetricDelta,
    compare,
    load_comparison,
)
from evalsuite.gate import GateDecision, GatePolicy, Rule, gate, load_policy
from evalsuite.judge import EvalJudgeConfig, JudgeSummary, judge_pairs
from evalsuite.manifest import Manifest, ManifestDiff, diff_manifests
from evalsuite.metrics import MetricInfo
from evalsuite.mine import MineResult, mine
from evalsuite.pair import PairResult, evaluate_pair
from evalsuite.perplexity import PerplexityResult, load_probe, perplexity
from evalsuite.probes import PROBES, with_probes
from evalsuite.ranking import RankResult, rank
from evalsuite.reports import junit, markdown, write_comparison_reports, write_gate_reports
from evalsuite.run import CaseResult, EvalConfig, RunResult, load_run, run, save_run
from evalsuite.suite import Case, Suite, load_suite, save_suite

__all__ = [
    "CHECK_TYPES",
    "PROBES",
    "BlindResult",
    "Case",
    "CasePair",
    "CaseResult",
    "Check",
    "CheckResult",
    "CompareConfig",
    "Comparison",
    "EvalConfig",
    "EvalJudgeConfig",
    "GateDecision",
    "GatePolicy",
    "JudgeSummary",
    "Manifest",
    "ManifestDiff",
    "ManifestMismatch",
    "MetricDelta",
    "MetricInfo",
    "MineResult",
    "PairResult",
    "PerplexityResult",
    "RankResult",
    "Rule",
    "RunResult",
    "Suite",
    "compare",
    "diff_manifests",
    "evaluate_pair",
    "export_blind",
    "gate",
    "import_blind",
    "judge_pairs",
    "junit",
    "load_comparison",
    "load_policy",
    "load_probe",
    "load_run",
    "load_suite",
    "markdown",
    "mine",
    "perplexity",
    "rank",
    "run",
    "save_run",
    "save_suite",
    "with_probes",
    "write_comparison_reports",
    "write_gate_reports",
]
