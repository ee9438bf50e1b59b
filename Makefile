# minwon — `make run` (everything in one process, embedded storage) and `make test` (everything, with its own set-up).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PYTEST := $(BIN)/python -m pytest

CHROMIUM ?= /usr/bin/chromium
NGINX ?= /usr/sbin/nginx
COMPOSE ?= /usr/bin/docker-compose

.PHONY: help install lint run test test-unit test-contract test-integration test-e2e test-browser soak infra-up infra-down bench clean

help:
	@echo "make run    - all six services in one process on embedded storage (http://127.0.0.1:8000)"
	@echo "make lint   - ruff check and ruff format --check (the whole tree), mypy (the modules pyproject.toml lists)"
	@echo "make test   - unit, contract, integration and end-to-end tests (starts Kafka and FerretDB itself)"
	@echo "make soak   - soak at full size: 5,000 complaints through minwon run with SIGKILLs; 2,000 through"
	@echo "              the six services with SIGKILLs, a FerretDB outage and a Kafka restart (make test: reduced)"
	@echo "make bench  - benchmarks (figures printed; MINWON_BENCH_SCALE=small for a quick run)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# ruff (lint and format) over the whole tree; mypy over the modules listed in pyproject.toml [tool.mypy] files
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

run: install
	$(BIN)/minwon run

$(CHROMIUM):
	@echo "installing Debian's chromium for the browser tests"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

$(NGINX):
	@echo "installing Debian's nginx-light for the API gateway tests"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light

$(COMPOSE):
	@echo "installing Debian's docker-compose for 'compose config' (no Docker engine needed)"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose

# Four sessions: the end-to-end system runs start from a fresh process (no state left by
# the hundreds of in-process apps before them), the soak (reduced here; `make soak` runs it
# at full size) runs on its own Kafka and FerretDB, and Playwright's sync API keeps an event
# loop on the main thread, which the asyncio tests must not inherit.
test: install $(CHROMIUM) $(NGINX) $(COMPOSE)
	$(PYTEST) tests -q -rfEs --ignore=tests/browser --ignore=tests/e2e --ignore=tests/soak
	$(PYTEST) tests/e2e -q -rfEs
	$(PYTEST) tests/soak -q -rfEs
	$(PYTEST) tests/browser -q -rfEs

test-unit: install
	$(PYTEST) tests/unit -q

test-contract: install
	$(PYTEST) tests/contract -q -rs

test-integration: install
	$(PYTEST) tests/integration -q -rs

test-e2e: install
	$(PYTEST) tests/e2e -q -rs

test-browser: install $(CHROMIUM)
	$(PYTEST) tests/browser -q -rs

soak: install
	MINWON_SOAK_SIZE=full $(PYTEST) tests/soak -q -rfEs

infra-up:
	bash deploy/local/infra.sh up

infra-down:
	bash deploy/local/infra.sh down

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache
