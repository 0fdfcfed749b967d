# Two commands on a fresh machine: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Exact versions with their hashes, for Python 3.11: requirements/base.txt is what the image runs,
# requirements/dev.txt adds the dev and embedded extras (same versions). `make lock` writes both.
LOCK_BASE := requirements/base.txt
LOCK_DEV := requirements/dev.txt
UV_COMPILE = $(VENV)/bin/uv pip compile pyproject.toml --python-version 3.11 --universal --generate-hashes --quiet

.PHONY: install lock lock-upgrade run test test-fast e2e lint format screenshots messages services-stop clean

install: $(STAMP)

# Only what the lock names, each file checked against its hash; then the project itself. `pip check`
# fails when pyproject.toml asks for something the lock lacks: run `make lock`.
$(STAMP): pyproject.toml $(LOCK_BASE) $(LOCK_DEV)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK_DEV)
	$(PY) -m pip install --quiet --no-deps -e .
	@$(PY) -m pip check || { echo "The lock does not match pyproject.toml: run make lock."; exit 1; }
	@touch $(STAMP)

# Write the lock again after a change of pyproject.toml, keeping every version it can;
# `make lock-upgrade` takes the newest releases pyproject.toml allows (review the diff, run make test),
# and `make lock LOCK_ARGS="--upgrade-package django"` upgrades one package.
lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet "uv>=0.9"
	@mkdir -p requirements
	$(UV_COMPILE) $(LOCK_ARGS) -o $(LOCK_BASE)
	$(UV_COMPILE) $(LOCK_ARGS) --extra dev --extra embedded -c $(LOCK_BASE) -o $(LOCK_DEV)

lock-upgrade:
	$(MAKE) lock LOCK_ARGS=--upgrade

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
	$(PY) manage.py compilemessages -l en -l zh_Hans --ignore=.venv

services-stop:
	$(PY) -m portal.devservices stop

clean: services-stop
	rm -rf var
