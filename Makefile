# Outcome Chain: `make run` starts everything on this machine; `make test` proves it.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# axe-core (the browser tests' accessibility checker) from npm, pinned in package-lock.json.
NODE_STAMP := node_modules/.installed

.PHONY: run test test-unit test-integration test-deploy bench lint clean screenshots soak chaos

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the browser tests' axe-core: apt-get install npm"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

run: $(STAMP)
	$(PY) -m shared.cli run

# Unit tests first (fast, no broker), then everything that needs real parts, in parallel;
# tests/production (about 2-3 minutes) builds the wheel and runs it as a council deploys it.
test: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest tests/unit tests/deploy -q -p no:cacheprovider -n 2
	$(PY) -m pytest tests/integration tests/e2e tests/production tests/fuzz tests/browser -q -p no:cacheprovider -n 2 --dist loadfile

# The pages' pictures in docs/screenshots/ (README "Pages"), from the demo council in a real browser.
screenshots: $(STAMP) $(NODE_STAMP)
	SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest tests/browser -q -p no:cacheprovider -k screenshots

bench: $(STAMP)
	$(PY) -m bench

# Mixed load for SOAK_SECONDS (default 120), then every count reconciled (docs/soak.md).
soak: $(STAMP)
	$(PY) -m bench.soak

# The soak with services killed, the broker paused, SMTP stopped and PostgreSQL restarted (~5 min).
chaos: $(STAMP)
	$(PY) -m bench.chaos

lint: $(STAMP)
	$(VENV)/bin/ruff check shared services tests bench

clean:
	rm -rf var .pytest_cache
