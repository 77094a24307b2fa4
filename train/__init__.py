"""train: a thin adapter over TRL and PEFT — LoRA, QLoRA and full SFT and DPO, with checks first.

Importing ``train`` loads no torch, transformers, trl or peft; they are imported when a run,
a pre-flight or a merge starts.
"""

from train.callbacks import TrainEvent
from train.card import TrainingCard
from train.config import TrainConfig, build_config, load_config
from train.merge import MergeResult, merge
from train.preflight import PreflightReport, preflight
from train.presets import Preset, get_preset, load_presets
from train.run import TrainResult, run

__all__ = [
    "MergeResult",
    "PreflightReport",
    "Preset",
    "TrainConfig",
    "TrainEvent",
    "TrainResult",
    "TrainingCard",
    "build_config",
    "get_preset",
    "load_config",
    "load_presets",
    "merge",
    "preflight",
    "run",
]
