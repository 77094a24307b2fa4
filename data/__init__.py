"""tunesmith's runtime data, shipped inside the package: prompt templates, family presets,
suites, probe texts, gate policies, demo configs and a small sample dataset.

Installed as the package ``tunesmith_data`` (pyproject maps it to this folder); read it with
``importlib.resources.files("tunesmith_data")``, never by a path relative to the source tree.
"""
