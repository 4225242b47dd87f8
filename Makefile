# Two commands matter: `make run` (the demo) and `make test` (every check).
# Both set up what is missing first: a virtual environment in .venv and node_modules.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
ARGS ?=

.PHONY: setup run test lint typecheck pytest node-test validate homey-backend bench bench-polling bench-load bench-soak bench-stats clean

$(PY_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

setup: $(PY_STAMP) $(NODE_STAMP)

run: setup
	$(BIN)/kraken-bridge serve --demo $(ARGS)

test: setup lint typecheck pytest node-test validate

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(PY_STAMP)
	$(BIN)/mypy

pytest: $(PY_STAMP)
	$(BIN)/pytest

node-test: setup
	npm test

validate: $(NODE_STAMP) homey-backend
	npm run validate

# The Homey Python app's dependencies (PyPI wheels for both platforms; skipped when built for
# the same pins) and its copy of kraken_core: homey_backend/python_packages and lib.
homey-backend: $(PY_STAMP)
	$(BIN)/python scripts/build_homey_python_packages.py

bench: bench-polling bench-load bench-soak bench-stats

bench-polling: $(PY_STAMP)
	$(BIN)/python bench/polling.py

bench-load: $(PY_STAMP)
	$(BIN)/python bench/load.py

bench-soak: $(PY_STAMP)
	$(BIN)/python bench/soak.py --days 30

bench-stats: $(PY_STAMP)
	$(BIN)/python bench/stats.py

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache
