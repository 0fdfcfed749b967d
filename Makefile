# Two commands on a fresh machine: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast e2e lint format screenshots messages services-stop clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,embedded]'
	@touch $(STAMP)

run: install
	$(PY) -m portal.run

test: install
	$(PY) -m portal.devservices exec --throwaway -- $(PY) -m pytest -n 2 --create-db $(PYTEST_ARGS)

test-fast: install
	$(PY) -m portal.devservices exec -- $(PY) -m pytest -x $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

screenshots: install
	PORTAL_SCREENSHOTS=1 $(PY) -m portal.devservices exec --throwaway -- $(PY) -m pytest tests/e2e/test_screenshots.py --create-db -p no:xdist

# Refresh the English catalogue after changing user-facing text, translate, then compile (needs gettext).
messages: install
	$(PY) manage.py makemessages -l en --ignore=.venv --ignore=var --ignore=tests --ignore=bench --no-obsolete
	$(PY) manage.py compilemessages -l en --ignore=.venv

services-stop:
	$(PY) -m portal.devservices stop

clean: services-stop
	rm -rf var
