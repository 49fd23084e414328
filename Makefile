# The two commands: `make demo` and `make test`. See README.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: demo test worker venv migrate clean bench-scaleout

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

migrate: venv
	$(PYTHON) manage.py migrate --noinput

demo: migrate
	$(PYTHON) manage.py load_golden --if-empty
	$(PYTHON) manage.py create_demo_users
	DEBUG=1 $(PYTHON) manage.py runserver 127.0.0.1:8000

test: venv
	$(PYTHON) -m pytest

worker: venv
	$(PYTHON) manage.py rqworker imports

# 1, 2 and 4 rqworker processes on one 1M-row import (needs DATABASE_URL=postgres://…, REDIS_URL).
bench-scaleout: venv
	$(PYTHON) bench/scaleout.py

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* media
