# Two commands matter: `make run` (the demo) and `make test` (every check).
# Both set up what is missing first: a virtual environment in .venv and node_modules (and,
# for the Homey Python app's tests, .venv-homey on Python >= 3.13).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
ARGS ?=
# The Homey Python app runs CPython 3.14 on the Homey; the `homey` package needs >= 3.13.
PYTHON_HOMEY ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3) $(shell command -v python3.14 python3.13 2>/dev/null))
HOMEY_VENV := .venv-homey
HOMEY_STAMP := $(HOMEY_VENV)/.installed

.PHONY: setup run test lint typecheck pytest homey-app-test node-test validate homey-backend bench bench-polling bench-load bench-soak bench-stats bench-homey-app clean

$(PY_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(HOMEY_STAMP): pyproject.toml
	@test -n "$(PYTHON_HOMEY)" || { echo "The Homey app's tests need Python >= 3.13: install it (pyenv install 3.13) or set PYTHON_HOMEY=/path/to/python3.13" >&2; exit 1; }
	$(PYTHON_HOMEY) -m venv $(HOMEY_VENV)
	$(HOMEY_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(HOMEY_VENV)/bin/python -m pip install --quiet -e '.[homey]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

setup: $(PY_STAMP) $(NODE_STAMP) $(HOMEY_STAMP)

run: setup
	$(BIN)/kraken-bridge serve --demo $(ARGS)

test: setup lint typecheck pytest homey-app-test node-test validate

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(PY_STAMP) $(HOMEY_STAMP)
	$(BIN)/mypy
	$(HOMEY_VENV)/bin/mypy --python-version 3.13 homey_backend/app.py homey_backend/api.py tests/homey_app/*.py bench/homey_app.py

pytest: $(PY_STAMP)
	$(BIN)/pytest

# The Homey Python app started by the real `homey` SDK (Python >= 3.13) on the simulator.
homey-app-test: $(HOMEY_STAMP)
	$(HOMEY_VENV)/bin/pytest tests/homey_app

node-test: setup
	npm test

validate: $(NODE_STAMP) homey-backend
	npm run validate

# The Homey Python app's dependencies (PyPI wheels for both platforms; skipped when built for
# the same pins) and its copy of kraken_core: homey_backend/python_packages and lib.
homey-backend: $(PY_STAMP)
	$(BIN)/python scripts/build_homey_python_packages.py

bench: bench-polling bench-load bench-soak bench-stats bench-homey-app

# The IOG day, then the same day for an Octoplus household with a saving session announced.
bench-polling: $(PY_STAMP)
	$(BIN)/python bench/polling.py
	$(BIN)/python bench/polling.py --saving-session

bench-load: $(PY_STAMP)
	$(BIN)/python bench/load.py

bench-soak: $(PY_STAMP)
	$(BIN)/python bench/soak.py --days 30

bench-stats: $(PY_STAMP)
	$(BIN)/python bench/stats.py

# The Homey Python app (needs the `homey` package: .venv-homey); the simulator it reads
# runs from the same environment, in its own process for the start-up figures.
bench-homey-app: $(HOMEY_STAMP)
	$(HOMEY_VENV)/bin/python bench/homey_app.py --days 30

clean:
	rm -rf $(VENV) $(HOMEY_VENV) homey_backend/python_packages homey_backend/lib node_modules .mypy_cache .ruff_cache .pytest_cache
