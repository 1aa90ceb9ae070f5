# The two entry points: `make demo` runs the main job, `make test` runs the whole suite.
# Both bootstrap their own environment: uv (from PyPI, via pip) and the locked packages;
# `make test` also installs the Debian packages some tests drive (Chromium, docker-compose,
# Prometheus).
PYTHON ?= python3
UV := $(PYTHON) -m uv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
DEBIAN_PACKAGES := chromium docker-compose prometheus

.PHONY: demo test lint typecheck env system-packages bench console-vendor

# Where PYTHONDONTWRITEBYTECODE is set (as on many CI images), every process would compile each
# module it imports again: about 2 s of every CLI command, flow and test subprocess. So the
# packages are compiled as uv installs them, and the project's own modules before the tests.
env:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==0.13.9"
	@$(UV) sync --frozen --quiet --compile-bytecode

system-packages:
	@missing=""; for tool in $(DEBIAN_PACKAGES); do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

demo: env
	$(UV) run --frozen strikeflow demo

lint: env
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen lint-imports

typecheck: env
	$(UV) run --frozen mypy

# Two test processes: most integration tests wait on servers and subprocesses, not the CPU.
# Whole modules go to one process (their servers and fixtures are module-wide).
test: lint typecheck system-packages
	@$(UV) run --frozen python -m compileall -q -j 0 api flows schemas sinks tests
	$(UV) run --frozen pytest -n 2 --dist loadfile

bench: env
	$(UV) run --frozen python benchmarks/run_all.py

# The console's one JavaScript dependency is committed (api/console/vendor/), so a fresh clone
# works offline; this re-fetches the pinned version from npm's lock file and copies it in.
console-vendor:
	cd api/console/vendor && npm ci --ignore-scripts --no-audit --no-fund && \
	cp node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js . && \
	cp node_modules/lightweight-charts/LICENSE LICENSE-lightweight-charts
