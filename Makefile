# Vigie — see README.md. Everything a fresh Debian/Ubuntu machine needs is
# installed from here: system packages, the virtual environment, clips.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .make

.PHONY: demo test lint unit bench sys venv footage clean

$(STAMPS)/sys: scripts/install-system.sh
	@mkdir -p $(STAMPS)
	sh scripts/install-system.sh
	@touch $@

$(STAMPS)/venv: pyproject.toml setup.py src/vigie/media/_fastpath.c $(STAMPS)/sys
	@mkdir -p $(STAMPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

$(STAMPS)/footage: scripts/fetch-footage.sh $(STAMPS)/sys
	@mkdir -p $(STAMPS)
	sh scripts/fetch-footage.sh .cache/footage
	@touch $@

sys: $(STAMPS)/sys
venv: $(STAMPS)/venv
footage: $(STAMPS)/footage

demo: sys venv
	$(VENV)/bin/vigie demo

lint: venv
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

unit: venv
	$(PY) -m pytest -q tests/unit

# The suite, then the unit tests again on other dates (libfaketime): three years
# ahead, and starting two minutes before the spring DST change in Europe/Paris.
# Monotonic time is left real (timeouts keep working).
FAKETIME := FAKETIME_DONT_FAKE_MONOTONIC=1 faketime
test: sys venv footage lint
	$(PY) -m pytest -q -ra
	@echo "== unit tests three years ahead (libfaketime)"
	$(FAKETIME) -f '+3y' $(PY) -m pytest -q -p no:cacheprovider tests/unit
	@echo "== unit tests across the spring DST change, Europe/Paris (libfaketime)"
	TZ=Europe/Paris $(FAKETIME) -f '@2027-03-28 01:58:00' $(PY) -m pytest -q -p no:cacheprovider tests/unit

bench: sys venv
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(STAMPS) $(VENV) var .cache
