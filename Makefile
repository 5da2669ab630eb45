# CloudCart: `make run` starts the whole local stack, `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)

# Local stack defaults; override any of them in the environment.
export MOTO_HOST ?= 127.0.0.1
export MOTO_PORT ?= 4566
export AWS_ENDPOINT_URL ?= http://$(MOTO_HOST):$(MOTO_PORT)
export HOST ?= 127.0.0.1
export WEB_PORT ?= 8000  # honcho hands each process its own PORT, so ours has another name

.PHONY: run test lint format seed synth bench clean profile

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-deploy.txt
	@# The CDK (jsii) runs on node: Debian's nodejs when the machine has none.
	command -v node >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed ## moto + tables + seed + gunicorn (+ worker and beat), Ctrl-C stops all
	honcho -f Procfile start

test: $(VENV)/.installed lint browser ## lint, then the whole suite against a real moto server
	python -m pytest

lint: $(VENV)/.installed
	ruff check .
	ruff format --check .

format: $(VENV)/.installed
	ruff format .
	ruff check --fix .

seed: $(VENV)/.installed ## seed the running local stack; COUNT=100000 for a big catalog
	python manage.py seed_products --count $${COUNT:-0}

# --- Benchmarks (issue 8): figures beside baselines, not pass/fail; not part of `make test` ---
bench: $(VENV)/.installed ## wrk against the stack + baselines at 1k and 100k products, then checkout at 50/s (~8 min)
	command -v wrk || (apt-get update && apt-get install -y wrk)
	python -m tests.bench.run $(BENCH_ARGS)
	python -m tests.bench.checkout_bench --rate 50 --seconds 10 --workers 2

profile: $(VENV)/.installed ## pyinstrument call trees of the hot catalog paths (PATHS="/products/1 ...")
	python -m tests.bench.profile $(PATHS)

# The CDK app needs no AWS account to synthesize (account-agnostic stack, no lookups).
# jsii warns loudly on Debian's node 20 (end of life); it works, the warning is noise here.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 20
synth: $(VENV)/.installed ## write the CloudFormation template to deploy/cdk.out (offline)
	cd deploy && python app.py && ls cdk.out/*.template.json

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache

# --- Issue 7: the browser for the Playwright test, and the long fuzz run ---------------------
.PHONY: browser fuzz
browser: ## Debian's chromium for tests/ops/test_browser.py (apt, as root, on a clean machine)
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
fuzz: $(VENV)/.installed ## schemathesis with fresh randomness and many more cases (FUZZ_EXAMPLES per operation)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-2000} FUZZ_RANDOM=1 python -m pytest -p no:cacheprovider -s tests/ops/test_fuzz.py
