# Chaski: `make run` starts everything, `make test` runs the whole suite.
# Both set up what is missing first: the two virtual environments, the NLU
# model (retrained only when nlu/data or config.yml changed) and the database.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# The app runs on Python 3.11; Rasa 3.6 needs Python 3.10 (pyenv's, by default).
# find_python X.Y: the first candidate that really runs as Python X.Y (pyenv's shims
# exist for versions that are not active, and fail when run).
find_python = $(shell for c in $$(ls -d $(HOME)/.pyenv/versions/$(1).*/bin/python 2>/dev/null | sort -rV) \
	$$(command -v python$(1)) $$(command -v python3); do \
	"$$c" -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, "$(1)".split("."))))' \
	2>/dev/null && { echo "$$c"; break; }; done)
ifndef PYTHON
PYTHON := $(call find_python,3.11)
endif
ifndef PYTHON_NLU
PYTHON_NLU := $(call find_python,3.10)
endif
VENV := .venv
VENV_NLU := .venv-nlu
FLASK := $(VENV)/bin/flask --app server
PORT ?= 5000
NLU_PORT ?= 5005
# PostgreSQL tests run when TEST_DATABASE_URL is set; by default, when the local server answers.
TEST_DATABASE_URL ?= $(shell pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && echo postgresql://postgres@127.0.0.1:5432/test)
PYTEST_ARGS ?=
CHROMIUM_BIN ?= /usr/bin/chromium
# The lock file .venv is installed from (with hashes): the dev lock (app + test tools) by default;
# a server installs only the app with `make venv LOCK=requirements.lock`.
LOCK ?= requirements-dev.lock
# make lock UPGRADE=1: move every unpinned (transitive) package to its newest release.
UPGRADE ?=
# make run DEMO=1: load the demo even with DATABASE_URL set (only into an empty or demo database).
DEMO ?=
# make run PROCESSES="web sender": start only some of the Procfile's processes (all by default).
PROCESSES ?=
# make test-anyday: how far the clock moves (libfaketime syntax), more than a year.
ANYDAY_SHIFT ?= +400d

export RASA_TELEMETRY_ENABLED := false

.PHONY: help run test test-anyday lint nlu nlu-eval setup venv venv-nlu model db chromium deploy-tools lock audit clean print-pythons bench wrk

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The processes add up their metrics (/metrics) in instance/metrics, emptied at each start.
run: setup ## Set up what is missing, then start the web app, Rasa NLU server, scheduler and sender (Ctrl-C stops all)
	@rm -rf instance/metrics
	PORT=$(PORT) NLU_PORT=$(NLU_PORT) NLU_URL=$${NLU_URL:-http://127.0.0.1:$(NLU_PORT)} \
		PROMETHEUS_MULTIPROC_DIR=$${PROMETHEUS_MULTIPROC_DIR:-$(CURDIR)/instance/metrics} \
		$(VENV)/bin/honcho start -f Procfile $(PROCESSES)

test: venv venv-nlu model chromium deploy-tools ## Set up what is missing, then run the whole test suite
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# libfaketime from PyPI (Debian's build hangs Python's thread timeouts): every process the
# suite starts sees the shifted wall clock; sleeps, timeouts and time.monotonic() stay real.
# The Rasa processes alone keep the real clock (nlu.runtime.rasa_env: TensorFlow hangs under it).
test-anyday: venv venv-nlu model chromium deploy-tools ## The whole test suite with the clock moved more than a year ahead
	@lib=$$($(VENV)/bin/python -c 'import libfaketime, pathlib; print(pathlib.Path(libfaketime.__file__).parent / "vendor/libfaketime/src/libfaketime.so.1")') \
		&& test -f "$$lib" || { echo "libfaketime's library not found: make venv installs it (requirements-dev.txt)" >&2; exit 1; }; \
	export LD_PRELOAD="$$lib" FAKETIME="$(ANYDAY_SHIFT)" FAKETIME_DONT_FAKE_MONOTONIC=1; \
	echo "Clock for this run: $$(date -u '+%Y-%m-%d %H:%M UTC') (real: $$(LD_PRELOAD= date -u '+%Y-%m-%d %H:%M UTC'))"; \
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

nlu: venv venv-nlu ## Start only the Rasa NLU server, training first if needed
	$(VENV)/bin/python -m nlu.runtime serve --port $(NLU_PORT)

nlu-eval: venv venv-nlu model ## Held-out NLU figures (accuracy, macro F1, recall, entities, confusions) via rules + a Rasa server
	$(VENV)/bin/python -m nlu.evaluate

setup: venv venv-nlu model db

venv: $(VENV)/.installed
venv-nlu: $(VENV_NLU)/.installed

# Installed from the lock file, every package pinned with its hashes (make lock rewrites it
# from requirements.txt and requirements-dev.txt, the pins people edit).
$(VENV)/.installed: $(LOCK)
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found: install it (e.g. pyenv install 3.11) or run make PYTHON=/path/to/python3.11" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "$(PYTHON) is not Python 3.11" >&2; exit 1; }
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q --require-hashes -r $(LOCK)
	touch $@

lint: venv ## Check the code with ruff (rules and line length in .ruff.toml); a finding fails
	$(VENV)/bin/ruff check .

# Two locks: requirements.lock is what a server runs (requirements.txt and what it pulls in),
# requirements-dev.lock adds the test and audit tools on top, with the same versions of the app's
# packages (-c). uv keeps the versions already locked unless UPGRADE=1; pip itself is left out
# (the venv brings its own, and pip-audit's pip-api only needs one).
UV := $(VENV)/bin/uv
UV_COMPILE = $(UV) pip compile -q --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(if $(filter 1,$(UPGRADE)),--upgrade)
lock: ## Rewrite requirements.lock and requirements-dev.lock (hashes) from requirements*.txt
	@test -x $(UV) || { echo "$(UV) not found: run make venv first (uv comes with requirements-dev.txt)" >&2; exit 1; }
	$(UV_COMPILE) requirements.txt -o requirements.lock
	$(UV_COMPILE) --no-emit-package pip -c requirements.lock requirements-dev.txt -o requirements-dev.lock

# pip-audit asks PyPI's JSON API about each locked version. --strict: a package it could not
# look up fails the audit instead of being skipped with "No known vulnerabilities found".
audit: venv ## Check both lock files against PyPI's vulnerability data (needs pypi.org's JSON API)
	$(VENV)/bin/pip-audit --strict --progress-spinner off --disable-pip --require-hashes \
		-r requirements.lock -r requirements-dev.lock

$(VENV_NLU)/.installed: nlu/requirements.txt nlu/constraints.txt
	@test -n "$(PYTHON_NLU)" || { echo "Python 3.10 not found (Rasa 3.6 needs it): pyenv install 3.10, or run make PYTHON_NLU=/path/to/python3.10" >&2; exit 1; }
	@$(PYTHON_NLU) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' || { echo "$(PYTHON_NLU) is not Python 3.10" >&2; exit 1; }
	test -x $(VENV_NLU)/bin/python || $(PYTHON_NLU) -m venv $(VENV_NLU)
	@echo "Installing Rasa 3.6 into $(VENV_NLU) (a few minutes and about 2.7 GB the first time)..."
	$(VENV_NLU)/bin/pip install --disable-pip-version-check -q -r nlu/requirements.txt -c nlu/constraints.txt
	touch $@

# make bench BENCH_DATABASE_URL=postgresql://...: measure on PostgreSQL too (that database is EMPTIED).
BENCH_DATABASE_URL ?=
bench: venv wrk ## The quick benchmarks (bench/all.py): one table of figures, baselines, goals (never part of make test)
	$(VENV)/bin/python bench/all.py $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL))

# bench/webhook_throughput.py drives gunicorn with wrk (Debian's package).
wrk: ## Install wrk for the webhook benchmark, only if missing (apt-get)
	@command -v wrk >/dev/null || { echo "Installing wrk for the benchmarks (apt-get)..."; \
		SUDO=$$(test "$$(id -u)" -eq 0 || echo sudo); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q wrk; }

# The browser tests drive Debian's Chromium (Playwright's own browser download does not work here).
chromium: ## Install Debian's Chromium for the browser tests, only if /usr/bin/chromium is missing
	@test -x $(CHROMIUM_BIN) || { echo "Installing chromium for the browser tests (apt-get)..."; \
		SUDO=$$(test "$$(id -u)" -eq 0 || echo sudo); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

# tests/deploy checks the systemd units with systemd-analyze and the nginx example with nginx -t.
deploy-tools: ## Install systemd-analyze and nginx for the deploy tests, only if missing
	@missing=; command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || missing="$$missing nginx"; \
	test -z "$$missing" || { echo "Installing$$missing for the deploy tests (apt-get)..."; \
		SUDO=$$(test "$$(id -u)" -eq 0 || echo sudo); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; }

model: venv venv-nlu ## Train the NLU model if nlu/data or config.yml changed
	$(VENV)/bin/python -m nlu.runtime train

# The demo goes only into the embedded demo database (no DATABASE_URL), or with DEMO=1 into an
# empty or demo database; load-demo itself refuses any other (exit 2, nothing written).
db: venv ## Migrate the database; load the demo data into the embedded demo database
	$(FLASK) migrate
	@if [ -z "$$DATABASE_URL" ] || [ "$(DEMO)" = 1 ]; then $(FLASK) load-demo; \
	else echo "DATABASE_URL is set: migrated only, no demo data (make run DEMO=1 loads it into an empty or demo database)"; fi

clean: ## Remove test output and trained models (keeps the environments and database)
	rm -rf test-output .pytest_cache nlu/models

print-pythons: ## Show which Python 3.11 and 3.10 the environments are built from
	@echo "app:  $(PYTHON)"; echo "nlu:  $(PYTHON_NLU)"
