# Yilin — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
UV_VERSION := 0.13.9
# Every install comes from uv.lock; --frozen refuses a lock that pyproject.toml has outgrown.
SYNC   := UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --quiet

.PHONY: install install-run install-test install-bench install-lint lock run test test-unit lint contract contract-check manifests bench bench-quick bench-growth soak chaos up down clean

# uv itself comes from PyPI into the project venv: no system package, one pinned version.
$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { \
	  echo "Yilin needs Python 3.11; '$(PYTHON)' is $$($(PYTHON) --version 2>/dev/null || echo 'not found')."; \
	  echo "Point the Makefile at one: make $(or $(MAKECMDGOALS),run) PYTHON=python3.11 (or PYTHON=/path/to/python3.11)"; \
	  exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

## install: everything a developer uses (runtime, test, bench and lint groups)
install: $(UV)
	$(SYNC) --all-groups

## install-run: the runtime dependencies only (what `make run` and the image get); the
## others: the runtime plus one group. Each sync makes the venv exactly that set.
install-run: $(UV)
	$(SYNC)

install-test: $(UV)
	$(SYNC) --group test

install-bench: $(UV)
	$(SYNC) --group bench

install-lint: $(UV)
	$(SYNC) --group lint

## lock: re-resolve uv.lock after a change to pyproject.toml (commit both)
lock: $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) lock

## run: migrate, start every service and the gateway, load the demo district, print URLs
run: install-run
	$(VENV)/bin/yilin run

## test: the whole suite against the real RabbitMQ and PostgreSQL on localhost (the fault
## suite at a reduced size; `make chaos` runs it in full)
## (the "test" group includes "lint": `make test` lints first, in the same venv)
test: install-test
	$(LINT)
	YILIN_CHAOS_KILLS=4 $(PY) -m pytest -m "not cluster"

## test-unit: the rules' tests alone, no broker and no database, in seconds
## (--confcutdir keeps the suite's conftest, which provisions both, out of it)
test-unit: install-test
	$(PY) -m pytest tests/unit -q --confcutdir=tests/unit -p no:nameko

## lint: ruff (lint and format), mypy (strict on the kit and the rules), import-linter (the layers)
LINT = $(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy && $(VENV)/bin/lint-imports
lint: install-lint
	$(LINT)

## contract: regenerate the published contracts: events (docs/asyncapi.yaml, docs/events/)
## and HTTP (docs/openapi.json)
contract: install
	$(PY) -m yilinctl.contract
	$(PY) -m yilinctl.api_contract

## contract-check: fail if the committed contract differs from the code; validate it with the AsyncAPI parser
contract-check: install-test
	$(PY) -m yilinctl.contract --check
	$(PY) -m yilinctl.api_contract --check
	test -d tools/asyncapi/node_modules || npm ci --prefix tools/asyncapi --ignore-scripts --no-audit --no-fund
	node tools/asyncapi/validate.mjs docs/asyncapi.yaml

## manifests: regenerate the PrometheusRule, dashboard ConfigMaps, KEDA objects and runbook links
## from the code and deploy/monitoring.yml
manifests: install-run
	$(PY) deploy/generate.py

## bench: every stage at full size, the three-node RabbitMQ cluster stage included (its
## nodes run as the rabbitmq user, so it needs root, like `make chaos`)
bench: install-bench
	$(PY) -m bench

## bench-quick: small sizes, without the cluster stage (it prints "skipped in --quick")
bench-quick: install-bench
	$(PY) -m bench --quick

## bench-growth: the growth stage alone (loads its own 10 million entries, grows them to 40; ~25 GB free)
bench-growth: install-bench
	$(PY) -m bench --only growth

## soak: every service for ten minutes (YILIN_SOAK_SECONDS) with the hours pipeline at district
## load and retention running; peak RSS at the end against after one minute (target ≤ 1.1) and
## the kit tables' sizes, written to bench/results/soak.json
soak: install-bench
	$(PY) -m bench.soak

## chaos: the fault suite at full size (10,000 events, 20 kills), including the three-node
## RabbitMQ cluster scenarios (tests/faults/test_cluster.py, marker `cluster`); `make test`
## runs it smaller and without the cluster
chaos: install-test
	YILIN_CHAOS_EVENTS=10000 YILIN_CHAOS_KILLS=20 $(PY) -m pytest tests/faults -v -s

## up: the single-host stack with Docker Compose
up:
	docker compose -f deploy/compose/compose.yaml up -d

down:
	docker compose -f deploy/compose/compose.yaml down

clean:
	rm -rf var .pytest_cache .schemathesis .hypothesis
