# minwon — `make run` (everything in one process, embedded storage) and `make test` (everything, with its own set-up).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PYTEST := $(BIN)/python -m pytest

CHROMIUM ?= /usr/bin/chromium

.PHONY: help install run test test-unit test-contract test-integration test-e2e test-browser infra-up infra-down bench clean

help:
	@echo "make run    - all six services in one process on embedded storage (http://127.0.0.1:8000)"
	@echo "make test   - unit, contract, integration and end-to-end tests (starts Kafka and FerretDB itself)"
	@echo "make bench  - benchmarks (figures printed)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/minwon run

$(CHROMIUM):
	@echo "installing Debian's chromium for the browser tests"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# Three sessions: the end-to-end system runs start from a fresh process (no state left by
# the hundreds of in-process apps before them), and Playwright's sync API keeps an event
# loop on the main thread, which the asyncio tests must not inherit.
test: install $(CHROMIUM)
	$(PYTEST) tests -q -rfEs --ignore=tests/browser --ignore=tests/e2e
	$(PYTEST) tests/e2e -q -rfEs
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

infra-up:
	bash deploy/local/infra.sh up

infra-down:
	bash deploy/local/infra.sh down

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache
