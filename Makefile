# The two commands: `make demo` and `make test`. See README.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
# Web and workers share it so /metrics sums every process (docs/telemetry.md).
METRICS_DIR ?= $(CURDIR)/prometheus_multiproc
# Settings refuse the built-in SECRET_KEY when DEBUG is off, as most targets
# run: without SECRET_KEY in the environment, a random key for this checkout,
# kept in .dev-secret-key (ignored by git) so sessions survive restarts.
DEV_SECRET_KEY_FILE := $(CURDIR)/.dev-secret-key
ifndef SECRET_KEY
SECRET_KEY := $(shell test -s $(DEV_SECRET_KEY_FILE) || $(PY) -c 'import secrets; print(secrets.token_urlsafe(50))' > $(DEV_SECRET_KEY_FILE); cat $(DEV_SECRET_KEY_FILE))
endif
export SECRET_KEY

.PHONY: demo test e2e lint worker serve venv migrate clean check-deploy bench bench-scaleout

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

migrate: venv
	$(PYTHON) manage.py migrate --noinput

demo: migrate
	PROMETHEUS_MULTIPROC_DIR=$(METRICS_DIR) $(PYTHON) manage.py metrics_reset
	PROMETHEUS_MULTIPROC_DIR=$(METRICS_DIR) $(PYTHON) manage.py load_golden --if-empty
	$(PYTHON) manage.py create_demo_users
	DEBUG=1 PROMETHEUS_MULTIPROC_DIR=$(METRICS_DIR) $(PYTHON) manage.py runserver 127.0.0.1:8000

test: venv
	$(PYTHON) -m pytest

# ruff (lint and format), the import layers (.importlinter), types (mypy with
# django-stubs, config in pyproject.toml; its Django plugin loads the settings,
# which the SECRET_KEY exported above lets start); CI runs it.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

# Browser journeys only (Debian's chromium; `make test` runs them too when it is installed).
e2e: venv
	$(PYTHON) -m pytest tests/e2e

# Django's deployment checklist with production-like settings (CI runs it).
check-deploy: venv
	DEBUG=0 HTTPS=1 ALLOWED_HOSTS=importer.example.com \
	SECRET_KEY="$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	$(PYTHON) manage.py check --deploy --fail-level WARNING

worker: venv
	PROMETHEUS_MULTIPROC_DIR=$(METRICS_DIR) $(PYTHON) manage.py rqworker imports

# Production-like, in the foreground (docs/deployment.md): static files
# collected, migrations applied, gunicorn (importer_project/gunicorn_conf.py)
# on SERVE_BIND and a pool of RQ_WORKERS workers; Ctrl-C stops both. Needs
# REDIS_URL; DEBUG is off, so set ALLOWED_HOSTS (and HTTPS=1 behind TLS).
SERVE_BIND ?= 127.0.0.1:8000
RQ_WORKERS ?= 2
serve: venv
	@test -n "$$REDIS_URL" || { echo "make serve: set REDIS_URL (the workers take the imports from Redis); see docs/deployment.md" >&2; exit 1; }
	DEBUG=0 $(PYTHON) manage.py collectstatic --noinput -v 0
	DEBUG=0 $(PYTHON) manage.py migrate --noinput
	DEBUG=0 PROMETHEUS_MULTIPROC_DIR=$(METRICS_DIR) $(PYTHON) manage.py metrics_reset
	export DEBUG=0 PROMETHEUS_MULTIPROC_DIR=$(METRICS_DIR); \
	$(PYTHON) manage.py rqworker-pool imports --num-workers $(RQ_WORKERS) & pool=$$!; \
	trap 'kill -TERM $$pool 2>/dev/null; wait $$pool' EXIT INT TERM; \
	$(PYTHON) -m gunicorn --config importer_project/gunicorn_conf.py --bind $(SERVE_BIND)

# 1, 2 and 4 rqworker processes on one 1M-row import (needs DATABASE_URL=postgres://…, REDIS_URL).
bench-scaleout: venv
	$(PYTHON) bench/scaleout.py

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* media prometheus_multiproc staticfiles

# The runs dashboard's list at 1,000 and 100,000 runs on PostgreSQL (see docs/runs-dashboard.md
# "Runs dashboard"); makes and drops the database test_<name of BENCH_DATABASE_URL>.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/importer_bench
.PHONY: bench-dashboard
bench-dashboard: venv
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PYTHON) bench/dashboard.py

# Side-by-side benchmark (this project, django-import-export, COPY floor); see bench/run.py.
# BENCH_SIZES=10000,100000 shortens it; BENCH_PG_URL picks the PostgreSQL database it recreates.
bench: venv
	$(PYTHON) bench/run.py
