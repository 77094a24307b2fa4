"""tunesmith works installed from its wheel, away from the checkout: the packages and their data
(``tunesmith_data``) come from the wheel, and the CLI curates and gates the shipped samples."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [
    "curate",
    "api",
    "evalsuite",
    "train",
    "data",
    "setup.py",
    "pyproject.toml",
    "README.md",
    "LICENSE",
]


def _sh(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh venv with only the wheel installed; its third-party dependencies are the main
    venv's (installing them from scratch takes minutes), reached by a ``.pth`` that names that
    site-packages folder. A folder named in a ``.pth`` is only put on the path, its own ``.pth``
    files are not run, so the checkout's editable-install hook stays out."""
    tmp = tmp_path_factory.mktemp("wheel")
    # Build from a copy: an in-tree build would leave build/ and *.egg-info in the checkout.
    src = tmp / "src"
    for name in SHIPPED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    pip = [sys.executable, "-m", "pip"]
    built = _sh(
        *pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp / "dist", src, cwd=tmp
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("tunesmith-*.whl")

    venv = tmp / "venv"
    assert _sh(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp).returncode == 0
    python = venv / "bin" / "python"
    done = _sh(*pip, "--python", python, "install", "-q", "--no-deps", "--no-index", wheel, cwd=tmp)
    assert done.returncode == 0, done.stderr
    site = _sh(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp)
    deps = sysconfig.get_path("purelib")  # this (the main) venv's site-packages
    (Path(site.stdout.strip()) / "main_venv_deps.pth").write_text(deps + "\n", encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(TUNESMITH_HOME=str(tmp / "home"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    (tmp / "cwd").mkdir()
    return venv, env


@pytest.mark.slow
def test_packages_and_data_come_from_the_wheel(installed: tuple[Path, dict[str, str]]) -> None:
    venv, env = installed
    code = (
        "import json, curate, api, evalsuite, train, tunesmith_data; "
        "print(json.dumps([m.__file__ for m in (curate, api, evalsuite, train, tunesmith_data)]))"
    )
    out = _sh(venv / "bin" / "python", "-c", code, cwd=venv.parent / "cwd", env=env)
    assert out.returncode == 0, out.stderr
    files = [Path(f) for f in json.loads(out.stdout)]
    for file in files:
        assert file.is_relative_to(venv), f"{file} is not from the installed wheel"

    def data_files(folder: Path) -> set[str]:
        return {
            str(p.relative_to(folder))
            for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }

    # pyproject's package-data globs must cover every file under data/
    assert data_files(files[-1].parent) == data_files(ROOT / "data")


@pytest.mark.slow
def test_the_installed_cli_curates_and_gates_the_shipped_samples(
    installed: tuple[Path, dict[str, str]],
) -> None:
    venv, env = installed
    cwd = venv.parent / "cwd"
    where = _sh(
        venv / "bin" / "python",
        "-c",
        "from importlib.resources import files; print(files('tunesmith_data'))",
        cwd=cwd,
        env=env,
    )
    data = Path(where.stdout.strip())
    assert data.is_relative_to(venv), where.stderr
    tunesmith = venv / "bin" / "tunesmith"

    curated = _sh(
        tunesmith,
        "curate",
        data / "samples" / "instructions.jsonl",
        "--out",
        "curated",
        cwd=cwd,
        env=env,
    )
    assert curated.returncode == 0, curated.stdout + curated.stderr
    report = json.loads((cwd / "curated" / "report.json").read_text(encoding="utf-8"))
    assert report["n_input_rows"] == 40

    gated = _sh(
        tunesmith,
        "gate",
        data / "samples" / "comparison",
        "--policy",
        data / "policies" / "default.toml",
        "--out",
        "gate",
        "--quiet",
        cwd=cwd,
        env=env,
    )
    assert (gated.returncode, gated.stdout.strip()) == (0, "pass"), gated.stderr
    assert (cwd / "gate" / "gate.json").is_file()
