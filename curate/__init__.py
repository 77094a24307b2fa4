"""curate: records, readers, the store, model backends and the curation steps.

Importing ``curate`` loads no torch, transformers, vllm, trl or peft.
"""

from curate.audit.select import select_diverse
from curate.audit.verdict import ReadinessVerdict, VerdictConfig, decide
from curate.checks.leakage import LeakageCheck, LeakageConfig
from curate.checks.pii import PIICheck, PIIConfig, redact_frame
from curate.checks.quality import QualityCheck, QualityConfig
from curate.errors import (
    ConfigError,
    ConflictError,
    DatasetFormatError,
    DecompressionLimit,
    InputError,
    MissingExtra,
    NotFoundError,
    TunesmithError,
)
from curate.executors import ExecutorConfig
from curate.io.eval_items import item_prompt, item_reference, load_eval_set
from curate.io.ingest import ingest
from curate.io.read import ReadResult, read_dataset
from curate.io.shapes import SHAPES_BY_NAME
from curate.io.shards import read_shards, write_shards
from curate.io.writers import write_records
from curate.models.backends import get_generator
from curate.models.backends.transformers import load_causal_lm
from curate.models.embed import embed_texts
from curate.models.env import missing_extra, require
from curate.models.generation import Generation, Generator, SamplingParams
from curate.models.json_reply import ask_json, parse_json
from curate.models.resolve import (
    ALIASES,
    OPTIONAL_ALIASES,
    cache_dir,
    resolve_model,
    set_offline_defaults,
)
from curate.pipeline.config import CurateConfig
from curate.pipeline.result import ClusterSummary, CurationResult
from curate.pipeline.run import run
from curate.pipeline.step import Finding, Step, StepResult, run_steps
from curate.recipes.gsm8k_habit import HabitTaskConfig, build_habit_task
from curate.records import RECORD_SCHEMA, REJECT_SCHEMA, Message, Record, Source, from_frame
from curate.report import write_report
from curate.store.store import DatasetInfo, Store, home
from curate.synth import SynthConfig, SynthReport, SynthResult, synthesize, write_result
from curate.synth.likelihood import (
    JudgeKind,
    LikelihoodJudge,
    PairScore,
    position_consistency,
    resolve_kind,
)
from curate.text.answers import FinalNumber, final_number, marked_number, strip_calculations
from curate.verify import (
    VERIFIERS,
    CodeTestConfig,
    CodeTestsVerifier,
    ExactVerifier,
    JsonSchemaVerifier,
    NumericVerifier,
    RegexVerifier,
    ToolCallVerifier,
    Verification,
    Verifier,
    get_verifier,
    parse_tool_calls,
)

__all__ = [
    "ALIASES",
    "OPTIONAL_ALIASES",
    "RECORD_SCHEMA",
    "REJECT_SCHEMA",
    "SHAPES_BY_NAME",
    "VERIFIERS",
    "ClusterSummary",
    "CodeTestConfig",
    "CodeTestsVerifier",
    "ConfigError",
    "ConflictError",
    "CurateConfig",
    "CurationResult",
    "DatasetFormatError",
    "DatasetInfo",
    "DecompressionLimit",
    "ExactVerifier",
    "ExecutorConfig",
    "FinalNumber",
    "Finding",
    "Generation",
    "Generator",
    "HabitTaskConfig",
    "InputError",
    "JsonSchemaVerifier",
    "JudgeKind",
    "LeakageCheck",
    "LeakageConfig",
    "LikelihoodJudge",
    "Message",
    "MissingExtra",
    "NotFoundError",
    "NumericVerifier",
    "PIICheck",
    "PIIConfig",
    "PairScore",
    "QualityCheck",
    "QualityConfig",
    "ReadResult",
    "ReadinessVerdict",
    "Record",
    "RegexVerifier",
    "SamplingParams",
    "Source",
    "Step",
    "StepResult",
    "Store",
    "SynthConfig",
    "SynthReport",
    "SynthResult",
    "ToolCallVerifier",
    "TunesmithError",
    "VerdictConfig",
    "Verification",
    "Verifier",
    "ask_json",
    "build_habit_task",
    "cache_dir",
    "decide",
    "embed_texts",
    "final_number",
    "from_frame",
    "get_generator",
    "get_verifier",
    "home",
    "ingest",
    "item_prompt",
    "item_reference",
    "load_causal_lm",
    "load_eval_set",
    "marked_number",
    "missing_extra",
    "parse_json",
    "parse_tool_calls",
    "position_consistency",
    "read_dataset",
    "read_shards",
    "redact_frame",
    "require",
    "resolve_kind",
    "resolve_model",
    "run",
    "run_steps",
    "select_diverse",
    "set_offline_defaults",
    "strip_calculations",
    "synthesize",
    "write_records",
    "write_report",
    "write_result",
    "write_shards",
]
