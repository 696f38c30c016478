# trading-ai developer tasks. `make demo` and `make test` create .venv on first use.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# The install is redone only when pyproject.toml or the lock file change.
STAMP := $(VENV)/.stamp-$(shell cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)
PYTEST_ARGS ?=
# Every extra the test suite exercises (plugins, Kafka, Ray, benchmark peers, MetaAPI).
EXTRAS ?= dev,pg,metaapi,sentiment,rl,gan,kafka,scale,bench

.PHONY: help venv demo test test-fast lint fmt bench clean rollback-model lock smoke audit

help:
	@echo "make demo | test | lint | fmt | bench | audit | clean | rollback-model TAG=v1.0.0 | lock"

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing trading-ai into $(VENV) (once; skipped while pyproject.toml and requirements.lock are unchanged)"
	$(PY) -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[$(EXTRAS)]'
	@rm -f $(VENV)/.stamp-*
	@touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/trading-ai demo

test: $(STAMP)
	$(BIN)/lint-imports importlinter.ini
	$(PY) -m pytest $(PYTEST_ARGS)
	@echo "live == batch equivalence with every compiled function run as Python (NUMBA_DISABLE_JIT=1):"
	NUMBA_DISABLE_JIT=1 $(PY) -m pytest -q -p no:cacheprovider tests/integration/backtest/test_live_equivalence.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/bandit -q -c pyproject.toml -r domain ports services adapters training plugins composition

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

BENCHES := bench/features.py bench/models.py bench/cycle.py bench/backtest.py bench/events.py

bench: $(STAMP)
	@for b in $(BENCHES); do echo "== $$b"; $(PY) $$b; done

rollback-model: $(STAMP)
	@test -n "$(TAG)" || { echo "usage: make rollback-model TAG=v1.0.0"; exit 2; }
	$(BIN)/trading-ai models rollback $(TAG)

# pip-audit over requirements.lock; says NOT AUDITED (exit 3) when no vulnerability database answers.
audit: $(STAMP)
	$(PY) infra/scripts/audit.py

# Refresh the lock from a resolved install (run after changing dependencies in pyproject.toml).
lock:
	rm -rf /tmp/trading-ai-lock && $(PYTHON) -m venv /tmp/trading-ai-lock
	/tmp/trading-ai-lock/bin/pip install -q '.[$(EXTRAS)]'
	/tmp/trading-ai-lock/bin/pip freeze --exclude-editable | grep -v '^trading-ai' > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov build *.egg-info
