# The two commands of README.md, and the few others ops and developers use.
# Everything installs from uv.lock into .venv; uv itself is bootstrapped when missing.

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
export POVDB_HOME ?= $(CURDIR)/data

.PHONY: help demo test lint typecheck deps unit airflow cluster bench clean sync docs

help:
	@echo "make demo   - generate demo deliveries and run the nightly DAG through Airflow"
	@echo "make test   - lint, type-check and run every test (what CI runs)"
	@echo "make airflow - start Airflow locally (UI on http://localhost:8080); Ctrl-C stops it"
	@echo "make cluster - PostgreSQL, Redis, Airflow and two Celery workers on this host; Ctrl-C stops them"
	@echo "make bench  - benchmarks (not part of make test)"

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

# --compile-bytecode: every installed module compiled once here. Where Python may not write
# .pyc files (PYTHONDONTWRITEBYTECODE, a read-only install), each process would otherwise
# compile what it imports from source: Great Expectations' import alone went from 3.6 s to
# 8.3 s, and every Airflow task, validation and load pays its imports.
$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --locked --extra cluster --compile-bytecode
	@touch $@

sync: $(VENV)/.synced

demo: sync
	$(BIN)/povdb demo

lint: sync
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: sync
	$(BIN)/mypy

# Every imported package declared, every declared package used (configured in pyproject.toml).
deps: sync
	$(BIN)/deptry .

unit: sync
	$(BIN)/pytest

test: lint typecheck deps unit

airflow: sync
	$(BIN)/python -m povdb.airflow_local

# The cluster topology in the foreground (docs/runbook.md, "The cluster").
cluster: sync
	$(BIN)/povdb cluster up --foreground

bench: sync
	$(BIN)/povdb bench --scale province

clean:
	rm -rf data .airflow .pytest_cache .mypy_cache .ruff_cache

# Regenerates the docs that are generated; the data dictionary needs a snapshot built by
# the current code (make demo).
docs: sync
	$(BIN)/python -c "from contract.reasons import render_markdown; open('docs/reason_codes.md','w').write(render_markdown())"
	$(BIN)/python -m contract.schema docs/schema
	$(BIN)/python -m reporting.dictionary $(POVDB_HOME)/warehouse/analytics.duckdb > docs/data_dictionary.md.tmp && mv docs/data_dictionary.md.tmp docs/data_dictionary.md
