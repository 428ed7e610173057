# The two set-up commands of the README: `make run` and `make test`. Each creates or reuses .venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DEPS_HASH := $(shell cat pyproject.toml | sha1sum | cut -c1-12)
RUN_STAMP := $(VENV)/.installed-run-$(DEPS_HASH)
TEST_STAMP := $(VENV)/.installed-test-$(DEPS_HASH)

.PHONY: run test lint typecheck format bench clean install

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(RUN_STAMP): | $(PY)
	$(PIP) install --quiet -e .
	touch $@

$(TEST_STAMP): | $(PY)
	$(PIP) install --quiet -e '.[test]'
	touch $@ $(RUN_STAMP)

install: $(TEST_STAMP)

## Start the API server on SQLite with the offline model (http://127.0.0.1:8000).
run: $(RUN_STAMP)
	$(VENV)/bin/sessiongraph serve

## Lint and type-check, then run the whole test suite.
test: lint
	$(PY) -m pytest

lint: $(TEST_STAMP) typecheck
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## mypy on the package as installed: sessiongraph.<room> lives in <room>/, so check a symlink tree.
TYPECHECK_ROOT := build/typecheck
typecheck: $(TEST_STAMP)
	rm -rf $(TYPECHECK_ROOT)/sessiongraph && mkdir -p $(TYPECHECK_ROOT)/sessiongraph
	for f in sessiongraph/*.py sessiongraph/py.typed; do ln -s $(CURDIR)/$$f $(TYPECHECK_ROOT)/sessiongraph/; done
	for d in graphs nodes checkpoints api; do ln -s $(CURDIR)/$$d $(TYPECHECK_ROOT)/sessiongraph/$$d; done
	cd $(TYPECHECK_ROOT) && MYPYPATH=. $(CURDIR)/$(VENV)/bin/mypy --config-file $(CURDIR)/pyproject.toml \
		--python-executable $(CURDIR)/$(PY) -p sessiongraph

format: $(TEST_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(TEST_STAMP)
	$(PY) bench/api_latency.py
	$(PY) bench/growth.py
	$(PY) bench/security.py

clean:
	rm -rf $(VENV) data build .pytest_cache .ruff_cache .mypy_cache .hypothesis *.egg-info
