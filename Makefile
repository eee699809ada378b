# Two commands on a fresh machine: `make run` (the console on http://127.0.0.1:8000) and
# `make test` (the whole suite). Both install what they need and are safe to run again.
SHELL := /bin/bash
PYTHON ?= $(shell pyenv which python 2>/dev/null || command -v python3.13 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ASSETS := static/vendor/chart.umd.min.js
HOST ?= 127.0.0.1
PORT ?= 8000
# Links printed by the demo and sent in invitations point at the port actually served.
SITE_URL ?= http://$(HOST):$(PORT)

.PHONY: install run run-prod test test-fast lint bench check clean browser loadgen

install: $(STAMP) $(ASSETS)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), f"Python >= 3.12 needed, found {sys.version.split()[0]} at {sys.executable}"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $(STAMP)

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

$(ASSETS): node_modules/.package-lock.json
	npm run --silent build

run: install
	$(PY) manage.py migrate --noinput
	SITE_URL=$(SITE_URL) $(PY) manage.py seed_demo
	SITE_URL=$(SITE_URL) deploy/dev-processes.sh $(PY) $(HOST) $(PORT)

# Production-like: gunicorn, a Celery worker and beat on PostgreSQL and Redis (see deploy/).
run-prod: install
	DEBUG=0 $(PY) manage.py collectstatic --noinput -v0
	DEBUG=0 $(PY) manage.py migrate --noinput
	DEBUG=0 deploy/prod-processes.sh $(PY)

# Browser tests drive Debian's Chromium; it is installed from apt when missing (never a
# browser download by a test tool).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Browser tests need /usr/bin/chromium: sudo apt-get install chromium"; exit 1; fi; }

test: install browser
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -n 2 -m "not e2e and not integration" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

check: install
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check

# The HTTP benchmarks' load generator is Debian's wrk, installed from apt when missing (as
# root); without it they refuse to run rather than measure with a slower Python load.
loadgen:
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	  else echo "!!! wrk is missing and cannot be installed here: the HTTP benchmarks will" \
	    "not run. Install it (sudo apt-get install wrk) and run make bench again." >&2; fi; }

bench: install loadgen
	$(PY) -m tests.bench

clean:
	rm -rf $(VENV) node_modules static/vendor staticfiles var
