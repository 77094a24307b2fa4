"""``train`` jobs: ``train.run`` on an uploaded (or curated) dataset; the adapter, metrics and
training card become artifacts.

Resumable: the run's folder (with its checkpoints) lives in the job's folder and ``train.run``
continues from the last checkpoint of the same run. Cancelling asks the run to stop first
(it checkpoints), then the worker is killed if it does not stop within the grace period.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from api.jobs.context import JobContext, JobRequestBase, Outcome
from train import TrainConfig

RESUMABLE = True
STOPPABLE = True


def _no_server_paths(config: TrainConfig) -> TrainConfig:
    if config.dataset is not None:
        raise ValueError("dataset: not accepted over the API (name the data by dataset_id)")
    if config.init_adapter is not None:
        raise ValueError("init_adapter: not accepted over the API (a path on the server)")
    return config


ApiTrainConfig = Annotated[TrainConfig, AfterValidator(_no_server_paths)]
"""A ``TrainConfig`` as a job request carries it: no path on the server, neither the data
(named by ``dataset_id``) nor an adapter to continue (train and sweep jobs)."""


class TrainJob(JobRequestBase):
    """Train an adapter with the same config the CLI's ``tunesmith train`` reads."""

    type: Literal["train"]
    """The job type."""
    dataset_id: str = Field(min_length=1, max_length=64)
    """The training data (one of this key's datasets)."""
    config: ApiTrainConfig
    """The training run's configuration: ``base_model`` and ``chat_template`` are names the
    server offers; its ``output_dir`` is chosen by the server and ``dataset`` is ``dataset_id``."""

    def datasets(self) -> dict[str, str]:
        return {"train": self.dataset_id}


def run(request: TrainJob, ctx: JobContext) -> Outcome:
    """Train in ``<job>/train``; copy the adapter, metrics and card into the artifacts."""
    import train

    workdir = ctx.dir / "train"
    config = request.config.model_copy(update={"output_dir": str(workdir)})
    result = train.run(ctx.datasets["train"], config, progress=ctx.progress, stop=ctx.stop)
    if result.adapter_dir:
        shutil.copytree(result.adapter_dir, ctx.artifacts / "adapter", dirs_exist_ok=True)
    for path in (result.metrics_path, result.card_path):
        if path and Path(path).is_file():
            shutil.copy2(path, ctx.artifacts / Path(path).name)
    card_md = Path(result.card_path).with_suffix(".md")
    if card_md.is_file():
        shutil.copy2(card_md, ctx.artifacts / card_md.name)
    return Outcome(result=result.model_dump(mode="json"))
