# The two entry points: `make demo` runs the main job, `make test` runs the whole suite.
# Both bootstrap their own environment: uv (from PyPI, via pip) and the locked packages.
PYTHON ?= python3
UV := $(PYTHON) -m uv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: demo test lint typecheck unit env bench

env:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==0.13.9"
	@$(UV) sync --frozen --quiet

demo: env
	$(UV) run --frozen strikeflow demo

lint: env
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

typecheck: env
	$(UV) run --frozen mypy

test: lint typecheck
	$(UV) run --frozen pytest

bench: env
	$(UV) run --frozen python benchmarks/run_all.py
