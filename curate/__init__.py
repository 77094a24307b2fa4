"""curate: records, readers, the store, model backends and the curation steps.

Importing ``curate`` loads no torch, transformers, vllm, trl or peft.
"""

from curate.backends import get_generator
from curate.config import CurateConfig
from curate.embed import embed_texts
from curate.errors import (
    ConfigError,
    ConflictError,
    DatasetFormatError,
    InputError,
    MissingExtra,
    NotFoundError,
    TunesmithError,
)
from curate.eval_items import load_eval_set
from curate.executors import ExecutorConfig
from curate.generation import Generation, Generator, SamplingParams
from curate.ingest import ReadResult, ingest, read_dataset
from curate.leakage import LeakageCheck, LeakageConfig
from curate.models import resolve_model
from curate.pii import PIICheck, PIIConfig, redact_frame
from curate.pipeline import Finding, Step, StepResult, run_steps
from curate.quality import QualityCheck, QualityConfig
from curate.records import Message, Record, Source
from curate.report import write_report
from curate.result import ClusterSummary, CurationResult
from curate.run import run
from curate.select import select_diverse
from curate.shards import read_shards, write_shards
from curate.store import DatasetInfo, Store
from curate.synth import SynthConfig, SynthReport, SynthResult, synthesize
from curate.verdict import Verdict, VerdictConfig, decide
from curate.writers import write_records

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
