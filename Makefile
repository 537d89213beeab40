# Two commands matter: `make run` and `make test`. Everything else is here for operators.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help install run test lint format bench fault-test backup restore restore-drill rebuild-projections retention schema clean chromium

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-22s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@echo "• creating $(VENV) and installing the project (first time takes a minute)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(STAMP) ## create .venv and install the project with its dev tools

run: install ## start PostgreSQL, the broker, the four services, demo data (DEMO=0 for none)
	@$(PY) -m common.devstack run

test: install lint chromium ## lint, then the whole suite against a private PostgreSQL and broker
	@$(PY) -m pytest $(PYTEST_ARGS)

# The portal's browser tests drive Debian's Chromium (Playwright cannot download its own here).
chromium: ## install Debian's chromium for the browser tests when it is missing (apt, no prompt)
	@if [ ! -x /usr/bin/chromium ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "• installing chromium with apt-get (browser tests of the portal)"; \
	    (DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null 2>&1 && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null)) || \
	      echo "! chromium could not be installed: the browser tests will be skipped"; \
	  else echo "! /usr/bin/chromium missing and apt-get unusable: browser tests will be skipped"; fi; \
	fi

lint: install ## ruff (lint and format check) and mypy on libs/ and the services
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check --quiet .
	@$(VENV)/bin/mypy -p common -p identity -p records -p register -p audit -p portal

format: install ## apply ruff's fixes and formatting
	@$(VENV)/bin/ruff check --fix --quiet . || true
	@$(VENV)/bin/ruff format --quiet .

schema: install ## refresh the published JSON Schema of the access-event/1 envelope
	@$(PY) -m common.events > schemas/access-event-1.schema.json

clean: ## remove local data (PostgreSQL files, logs) — asks nothing, keeps .venv
	rm -rf .data

backup: install ## pg_dump every database, age-encrypted, checksummed, copied, rotated (backups/<time>)
	@$(PY) -m common.backup backup $(if $(DIR),--dir $(DIR))

restore: install ## verify checksums, then restore the newest backup (or DIR=backups/<time>)
	@$(PY) -m common.backup restore $(if $(DIR),--dir $(DIR))

restore-drill: install ## restore the newest backup into a fresh PostgreSQL, verify it all, print the RTO
	@$(PY) -m common.drill $(if $(DIR),--dir $(DIR))

rebuild-projections: install ## replay the whole event store into the audit projections (stack running)
	@$(PY) -m audit.projections rebuild

retention: install ## list the files past their retention term and propose a batch (AS_OF=YYYY-MM-DD)
	@$(PY) -m records.retention $(if $(AS_OF),--as-of $(AS_OF))

fault-test: install ## the fault-injection test in full (30 s broker outage, kills, PostgreSQL restart)
	@OHS_FAULT_FULL=1 $(PY) -m pytest tests/fault -v $(PYTEST_ARGS)

bench: install ## benchmark on a private stack; writes bench/results.json (QUICK=1 for a smoke run)
	@$(PY) -m bench.run $(if $(QUICK),--quick)
