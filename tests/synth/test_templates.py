"""Prompt templates are versioned files; users override them by name."""

from __future__ import annotations

import pytest

from curate.errors import ConfigError, NotFoundError
from curate.synth import ERROR_TYPES, SynthConfig, load_template
from curate.synth.templates import BUILTIN_DIR


def test_every_task_has_a_versioned_builtin_template():
    names = ["teacher", "diversify", "judge", "correction", *[f"negative_{e}" for e in ERROR_TYPES]]
    for name in names:
        template = load_template(name)
        assert template.path.parent == BUILTIN_DIR and template.version == "1"
        assert not template.text.startswith("#")
    judge = load_template("judge").render(prompt="Q?", a="one", b="two")
    assert "Answer A:\none" in judge and "Answer B:\ntwo" in judge


def test_user_override_wins_and_its_version_is_recorded(tmp_path):
    (tmp_path / "judge.txt").write_text("# version: 7-local\n# note\n{prompt} | {a} | {b}\n")
    template = load_template("judge", tmp_path)
    assert template.ref == "judge@7-local"
    assert template.render(prompt="p", a="x", b="y") == "p | x | y\n"
    assert load_template("teacher", tmp_path).path.parent == BUILTIN_DIR  # not overridden


def test_bad_templates_fail_clearly(tmp_path):
    (tmp_path / "judge.txt").write_text("no header {prompt}\n")
    with pytest.raises(ConfigError, match="version"):
        load_template("judge", tmp_path)
    (tmp_path / "teacher.txt").write_text("# version: 1\n{question}\n")
    with pytest.raises(ConfigError, match="question"):
        load_template("teacher", tmp_path).render(prompt="p")
    with pytest.raises(NotFoundError):
        load_template("nonesuch")


def test_config_rejects_unknown_styles_and_error_types():
    with pytest.raises(ValueError, match="style"):
        SynthConfig(styles=("shouting",))
    with pytest.raises(ValueError, match="error type"):
        SynthConfig(error_types=("rudeness",))
    with pytest.raises(ValueError):
        SynthConfig(temperatur=0.5)
