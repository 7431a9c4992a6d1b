# Outcome Chain: `make run` starts everything on this machine; `make test` proves it.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# axe-core (the browser tests' accessibility checker) from npm, pinned in package-lock.json.
NODE_STAMP := node_modules/.installed

.PHONY: run system-packages test test-clock test-unit test-integration test-deploy bench lint clean screenshots soak chaos

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

# PostgreSQL, Chromium and npm from Debian: installed when missing if root, else the exact command.
system-packages:
	@bash tests/support/system-packages.sh postgresql chromium npm

# A skipped test fails the run (tests/conftest.py): a missing part is an error, never a quiet skip.
test test-clock screenshots: export OUTCOMES_NO_SKIPS := 1

# Unit tests first (fast, no broker), then everything that needs real parts, in parallel.
test: system-packages $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest tests/unit tests/deploy -q -p no:cacheprovider -n 2
	$(PY) -m pytest tests/integration tests/e2e tests/fuzz tests/browser -q -p no:cacheprovider -n 2 --dist loadfile

# The time-sensitive tests once more on a shifted clock that starts at 23:30 UK time today, then at
# 00:30 UK time on the next two days the UK clocks change (tests/support/faketimes.py), and runs on
# from there: Python through time-machine, PostgreSQL through libfaketime (Debian's `faketime`), both
# from one offset (tests/support/shifted_time.py says why not libfaketime for Python). README "Tests".
CLOCK_TESTS := tests/unit $(filter-out %/test_crash.py,$(wildcard tests/integration/services/notifier/test_*.py)) \
	tests/integration/services/decisions/test_overdue_and_scale.py tests/integration/shared/test_demo.py
test-clock: $(STAMP)
	@bash tests/support/system-packages.sh postgresql faketime
	$(PY) -m tests.support.faketimes | while IFS='|' read -r label start; do \
	  echo "== time-sensitive tests at $$label ($$start UTC)"; \
	  OUTCOMES_CLOCK_START="$$start" OUTCOMES_CLOCK_SINCE=$$(date +%s) \
	    $(PY) -m pytest $(CLOCK_TESTS) -q -p no:cacheprovider -n 2 --dist loadfile || exit 1; \
	done

# The pages' pictures in docs/screenshots/ (README "Pages"), from the demo council in a real browser.
screenshots: system-packages $(STAMP) $(NODE_STAMP)
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
