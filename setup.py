"""Package discovery, the one thing pyproject.toml cannot say: the runtime data in ``data/``
install as the package ``tunesmith_data`` (read with ``importlib.resources``), beside the code
packages found by name. Everything else is in pyproject.toml."""

from setuptools import find_namespace_packages, find_packages, setup

# data/'s folders are listed as packages too: setuptools ships the files of a folder it was not
# told about, but warns that it may stop doing so.
DATA_FOLDERS = find_namespace_packages("data", exclude=["*__pycache__"])
DATA = ["tunesmith_data", *(f"tunesmith_data.{name}" for name in DATA_FOLDERS)]

setup(
    packages=[*find_packages(include=["curate*", "api*", "evalsuite*", "train*"]), *DATA],
    package_dir={"tunesmith_data": "data"},
)
