# Yilin — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test test-fast lint contract contract-check manifests bench bench-quick chaos up down clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

## run: migrate, start every service and the gateway, load the demo district, print URLs
run: install
	$(VENV)/bin/yilin run

## test: the whole suite against the real RabbitMQ and PostgreSQL on localhost (the fault
## suite at a reduced size; `make chaos` runs it in full)
test: install
	YILIN_CHAOS_KILLS=4 $(PY) -m pytest

lint: install
	$(PY) -m compileall -q yilin services tests bench

## contract: regenerate the published event contract (docs/asyncapi.yaml, docs/events/)
contract: install
	$(PY) -m yilin.contract

## contract-check: fail if the committed contract differs from the code; validate it with the AsyncAPI parser
contract-check: install
	$(PY) -m yilin.contract --check
	test -d tools/asyncapi/node_modules || npm ci --prefix tools/asyncapi --ignore-scripts --no-audit --no-fund
	node tools/asyncapi/validate.mjs docs/asyncapi.yaml

## manifests: regenerate the PrometheusRule, dashboard ConfigMaps, KEDA objects and runbook links
## from the code and deploy/monitoring.yml
manifests: install
	$(PY) deploy/generate.py

bench: install
	$(PY) -m bench

bench-quick: install
	$(PY) -m bench --quick

## chaos: the fault suite at full size (10,000 events, 20 kills); `make test` runs it smaller
chaos: install
	YILIN_CHAOS_EVENTS=10000 YILIN_CHAOS_KILLS=20 $(PY) -m pytest tests/faults -v -s

## up: the single-host stack with Docker Compose
up:
	docker compose -f deploy/compose/compose.yaml up -d

down:
	docker compose -f deploy/compose/compose.yaml down

clean:
	rm -rf var .pytest_cache
