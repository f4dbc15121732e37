# Two entry points: `make preflight` (the run) and `make test` (the harness's own tests).
# Each bootstraps .venv and node_modules itself and does nothing when they are up to date.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=
# Compiled modules are cached under .venv, outside the tree: an environment that sets PYTHONDONTWRITEBYTECODE
# (this machine's does) made every process of every run compile the project and its suites again.
export PYTHONDONTWRITEBYTECODE :=
export PYTHONPYCACHEPREFIX := $(CURDIR)/$(VENV)/pycache

.PHONY: setup preflight sandbox test lint format bench browser clean

setup: $(VENV)/.stamp node_modules/.stamp browser

$(VENV)/.stamp: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# A Chromium for the shopper's journey (and the report tests): one already installed, else the system's
# package (Debian's chromium, as root), else Playwright's own download. Where none can be had, the
# browser checks cannot judge: HOLD, saying why (browser.use: required makes that an ERROR, off leaves them out).
browser: $(VENV)/.stamp
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	|| command -v google-chrome >/dev/null 2>&1 \
	|| { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	     && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
	|| $(BIN)/python -m playwright install chromium \
	|| echo "make browser: no Chromium could be installed here: the browser checks cannot judge (HOLD), saying why"

preflight: setup
	$(BIN)/preflight run $(ARGS)

# A sandbox to explore by hand: SANDBOX_ARGS="--port 8040 --db /tmp/sandbox.db"
sandbox: setup
	$(BIN)/preflight sandbox $(SANDBOX_ARGS)

# The harness's own tests: everything but the fault matrices on two workers, then the fault matrices
# (the API's, the landing pages' in test_landing.py and their look in test_visual.py, and the funnel numbers'
# lag in test_analytics.py, and the steps' smaller findings in test_step_findings.py)
# on two workers under coverage (in every process: the workers and each `preflight run` they start),
# then the check that every failure branch of the lifecycle's steps and their click library fired
# (tests/tools/raises_covered.py; left out when ARGS selects some tests).
MATRIX := tests/harness/test_fault_matrix.py tests/harness/test_landing.py tests/harness/test_visual.py tests/harness/test_analytics.py \
	tests/harness/test_audit.py tests/harness/test_audit_tolerant.py tests/harness/test_step_findings.py
COVERAGE_DATA := $(CURDIR)/reports/coverage/.coverage

test: setup lint
	$(BIN)/python -m pytest tests $(addprefix --ignore=,$(MATRIX)) -n 2 $(ARGS)
	rm -rf reports/coverage && mkdir -p reports/coverage
	COVERAGE_FILE=$(COVERAGE_DATA) $(BIN)/coverage run -m pytest $(MATRIX) -n 2 $(ARGS)
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
