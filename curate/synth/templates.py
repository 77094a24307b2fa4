"""Prompt templates for synthesis, kept as versioned text files in ``data/prompts``.

A template file starts with ``# version: N`` and comment lines (``#``), then the text, with
``{name}`` placeholders filled by ``str.format``. Users override any template by putting a file of
the same name in their own folder (``SynthConfig.templates_dir``); the version goes into each
synthesised record's provenance (``meta.synth.template``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from curate.errors import ConfigError, NotFoundError

# tunesmith_data installs as a folder (never zipped), so its resources are plain files.
BUILTIN_DIR = Path(str(files("tunesmith_data") / "prompts"))
"""The templates shipped with tunesmith."""

_VERSION = re.compile(r"^#\s*version:\s*(\S+)\s*$")


@dataclass(frozen=True)
class Template:
    """One prompt template."""

    name: str
    """The file's stem (``judge``, ``negative_verbosity``, ...)."""
    version: str
    """From the ``# version:`` header."""
    text: str
    """The body with ``{placeholder}`` fields."""
    path: Path
    """Where it was read from."""

    @property
    def ref(self) -> str:
        """``name@version``, recorded as provenance."""
        return f"{self.name}@{self.version}"

    def render(self, **fields: str) -> str:
        """The text with its placeholders filled.

        Raises:
            ConfigError: the template names a placeholder that was not given.
        """
        try:
            return self.text.format(**fields)
        except (KeyError, IndexError) as e:
            raise ConfigError(f"template {self.path} uses an unknown placeholder {e}") from e


def load_template(name: str, override_dir: str | Path | None = None) -> Template:
    """The template ``name``: from ``override_dir`` when it has one, else the built-in.

    Raises:
        NotFoundError: no such template.
        ConfigError: the file lacks its ``# version:`` header.
    """
    candidates = [Path(override_dir) / f"{name}.txt"] if override_dir else []
    candidates.append(BUILTIN_DIR / f"{name}.txt")
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise NotFoundError(
            f"no prompt template {name!r} (looked in {', '.join(map(str, candidates))})"
        )
    lines = path.read_text(encoding="utf-8").splitlines()
    match = _VERSION.match(lines[0]) if lines else None
    if match is None:
        raise ConfigError(f"{path}:1: a template starts with '# version: N'")
    start = 1
    while start < len(lines) and lines[start].startswith("#"):  # the header's comment lines
        start += 1
    return Template(name, match.group(1), "\n".join(lines[start:]).strip() + "\n", path)
