"""curate: records, readers, the store, model backends and the curation steps.

Importing ``curate`` loads no torch, transformers, vllm, trl or peft.
"""

from curate.backends import get_generator
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
from curate.store import DatasetInfo, Store
from curate.writers import write_records

__all__ = [
    "ConfigError",
    "ConflictError",
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
    "get_generator",
    "ingest",
    "read_dataset",
    "resolve_model",
    "run_steps",
    "write_records",
]
