"""Package discovery, the one thing pyproject.toml cannot say: the runtime data in ``data/``
install as the package ``tunesmith_data`` (read with ``importlib.resources``), beside the code
packages found by name. Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["curate*", "api*", "evalsuite*", "train*"]), "tunesmith_data"],
    package_dir={"tunesmith_data": "data"},
)
