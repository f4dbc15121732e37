# Two entry points: `make preflight` (the run) and `make test` (the harness's own tests).
# Each bootstraps .venv and node_modules itself and does nothing when they are up to date.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: setup preflight sandbox test lint format bench browser clean

setup: $(VENV)/.stamp node_modules/.stamp

$(VENV)/.stamp: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium, for the report screenshot tests (root on this machine kind).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

preflight: setup
	$(BIN)/preflight run $(ARGS)

# A sandbox to explore by hand: SANDBOX_ARGS="--port 8040 --db /tmp/sandbox.db"
sandbox: setup
	$(BIN)/preflight sandbox $(SANDBOX_ARGS)

# The harness's own tests: everything but the fault matrix on two workers, then the fault matrix under
# coverage (in every `preflight run` it starts), then the check that every failure branch of the
# lifecycle's steps fired (tests/tools/raises_covered.py; left out when ARGS selects some tests).
MATRIX := tests/harness/test_fault_matrix.py
COVERAGE_DATA := $(CURDIR)/reports/coverage/.coverage

test: setup browser lint
	$(BIN)/python -m pytest tests --ignore=$(MATRIX) -n 2 $(ARGS)
	rm -rf reports/coverage && mkdir -p reports/coverage
	COVERAGE_FILE=$(COVERAGE_DATA) $(BIN)/coverage run -m pytest $(MATRIX) $(ARGS)
	COVERAGE_FILE=$(COVERAGE_DATA) $(BIN)/coverage combine -q
	$(if $(ARGS),,$(BIN)/python tests/tools/raises_covered.py $(COVERAGE_DATA))

# ruff: the lint rules and the format (line length 120) of pyproject.toml; `make format` applies it.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python bench/run.py $(ARGS)

clean:
	rm -rf reports/allure-results reports/allure-report reports/escalations reports/*.json reports/*.md reports/*.xml
