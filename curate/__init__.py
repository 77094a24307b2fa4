"""curate: records, readers, the store, model backends and the curation steps.

Importing ``curate`` loads no torch, transformers, vllm, trl or peft.
"""

from curate.audit.select import select_diverse
from curate.audit.verdict import Verdict, VerdictConfig, decide
from curate.checks.leakage import LeakageCheck, LeakageConfig
from curate.checks.pii import PIICheck, PIIConfig, redact_frame
from curate.checks.quality import QualityCheck, QualityConfig
from curate.errors import (
    ConfigError,
    ConflictError,
    DatasetFormatError,
    InputError,
    MissingExtra,
    NotFoundError,
    TunesmithError,
)
from curate.executors import ExecutorConfig
from curate.io.eval_items import load_eval_set
from curate.io.ingest import ReadResult, ingest, read_dataset
from curate.io.shards import read_shards, write_shards
from curate.io.writers import write_records
from curate.models.backends import get_generator
from curate.models.embed import embed_texts
from curate.models.generation import Generation, Generator, SamplingParams
from curate.models.resolve import resolve_model
from curate.pipeline.config import CurateConfig
from curate.pipeline.result import ClusterSummary, CurationResult
from curate.pipeline.run import run
from curate.pipeline.step import Finding, Step, StepResult, run_steps
from curate.records import Message, Record, Source
from curate.report import write_report
from curate.store.store import DatasetInfo, Store
from curate.synth import SynthConfig, SynthReport, SynthResult, synthesize

__all__ = [
    "ClusterSummary",
    "ConfigError",
    "ConflictError",
    "CurateConfig",
    "CurationResult",
    "DatasetFormatError",
    "DatasetInfo",
    "ExecutorConfig",
    "Finding",
    "Generation",
    "Generator",
    "InputError",
    "LeakageCheck",
    "LeakageConfig",
    "Message",
    "MissingExtra",
    "NotFoundError",
    "PIICheck",
    "PIIConfig",
    "QualityCheck",
    "QualityConfig",
    "ReadResult",
    "Record",
    "SamplingParams",
    "Source",
    "Step",
    "StepResult",
    "Store",
    "SynthConfig",
    "SynthReport",
    "SynthResult",
    "TunesmithError",
    "Verdict",
    "VerdictConfig",
    "decide",
    "embed_texts",
    "get_generator",
    "ingest",
    "load_eval_set",
    "read_dataset",
    "read_shards",
    "redact_frame",
    "resolve_model",
    "run",
    "run_steps",
    "select_diverse",
    "synthesize",
    "write_records",
    "write_report",
    "write_shards",
]
