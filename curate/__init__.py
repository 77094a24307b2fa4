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
from curate.generation import Generation, Generator, SamplingParams
from curate.ingest import ReadResult, ingest, read_dataset
from curate.models import resolve_model
from curate.pipeline import Finding, Step, StepResult, run_steps
from curate.records import Message, Record, Source
from curate.result import ClusterSummary, CurationResult
from curate.run import run
from curate.store import DatasetInfo, Store
from curate.writers import write_records

__all__ = [
    "ClusterSummary",
    "ConfigError",
    "ConflictError",
    "CurateConfig",
    "CurationResult",
    "DatasetFormatError",
    "DatasetInfo",
    "Finding",
    "Generation",
    "Generator",
    "InputError",
    "Message",
    "MissingExtra",
    "NotFoundError",
    "ReadResult",
    "Record",
    "SamplingParams",
    "Source",
    "Step",
    "StepResult",
    "Store",
    "TunesmithError",
    "embed_texts",
    "get_generator",
    "ingest",
    "read_dataset",
    "resolve_model",
    "run",
    "run_steps",
    "write_records",
]
