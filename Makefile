# Outcome Chain: `make run` starts everything on this machine; `make test` proves it.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-unit test-integration test-deploy bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m shared.cli run

# Unit tests first (fast, no broker), then everything that needs real parts, in parallel.
test: $(STAMP)
	$(PY) -m pytest tests/unit tests/deploy -q -p no:cacheprovider
	$(PY) -m pytest tests/integration tests/e2e -q -p no:cacheprovider -n 2 --dist loadfile

bench: $(STAMP)
	$(PY) -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check shared services tests bench

clean:
	rm -rf var .pytest_cache
