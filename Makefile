# Outcome Chain: `make run` starts everything on this machine; `make test` proves it.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# axe-core (the browser tests' accessibility checker) from npm, pinned in package-lock.json.
NODE_STAMP := node_modules/.installed

# The lowest direct version of every dependency pyproject.toml allows (`make test-lowest`).
LOWEST := .venv-lowest
LOCK_FLAGS ?=
# Both lock files fit Python 3.11 on any platform (hashes of every wheel of each pinned version).
UV_COMPILE = $(VENV)/bin/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command "make lock" $(LOCK_FLAGS)

.PHONY: messages fuzz run system-packages test test-clock test-unit test-integration test-deploy test-lowest bench lint lock clean screenshots soak chaos

# Exactly the locked versions (hash-checked), with the dev, test and lint extras; then this
# checkout itself, editable and without resolving anything.
$(STAMP): pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the browser tests' axe-core: apt-get install npm"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

# The words on pages and in messages (README "For translators"): extract every message from the
# code into messages.pot, bring each language's .po up to date with it (a new message arrives
# untranslated; a changed one as a fuzzy guess for the translator to check), compile the .mo
# files the services read. Run after changing any message; commit all four files.
LOCALE_DIR := shared/http/i18n/locale
messages: $(STAMP)
	mkdir -p $(LOCALE_DIR)
	$(VENV)/bin/pybabel --quiet extract -F babel.cfg -k copy_text:1c,2 -k copy_plural:1c,2,3 -c Translators: \
		--add-location file --project "Outcome Chain" --copyright-holder "Outcome Chain" \
		-o $(LOCALE_DIR)/messages.pot shared services
	@for lang in en cy; do test -f $(LOCALE_DIR)/$$lang/LC_MESSAGES/messages.po || \
		$(VENV)/bin/pybabel --quiet init -i $(LOCALE_DIR)/messages.pot -d $(LOCALE_DIR) -l $$lang; done
	$(VENV)/bin/pybabel --quiet update -i $(LOCALE_DIR)/messages.pot -d $(LOCALE_DIR) -l cy --ignore-obsolete --ignore-pot-creation-date
	$(VENV)/bin/pybabel --quiet update -i $(LOCALE_DIR)/messages.pot -d $(LOCALE_DIR) -l en --ignore-obsolete --ignore-pot-creation-date --no-fuzzy-matching
	$(VENV)/bin/pybabel --quiet compile -d $(LOCALE_DIR) --statistics

run: $(STAMP)
	$(PY) -m ops.cli run

# PostgreSQL, Chromium and npm from Debian: installed when missing if root, else the exact command.
system-packages:
	@bash tests/support/system-packages.sh postgresql chromium npm

# A skipped test fails the run (tests/conftest.py): a missing part is an error, never a quiet skip.
test test-clock test-lowest fuzz screenshots: export OUTCOMES_NO_SKIPS := 1
# Every test run under the reaper: stopped by Ctrl-C, SIGTERM or a closed terminal, or done,
# it leaves none of the brokers, databases and services its tests started (tests/support/reaper.py).
REAPED = $(PY) -m tests.support.reaper --

# Unit tests first (fast, no broker), then everything that needs real parts, in parallel;
# tests/production (about 2-3 minutes) builds the wheel and runs it as a council deploys it.
test: system-packages $(STAMP) $(NODE_STAMP)
	$(REAPED) $(PY) -m pytest tests/unit tests/deploy -q -p no:cacheprovider -n 2
	$(REAPED) $(PY) -m pytest tests/integration tests/e2e tests/production tests/fuzz tests/browser -q -p no:cacheprovider -n 2 --dist loadfile

# The unit tier against the lowest version of each direct dependency (runtime, dev and test
# extras) that pyproject.toml allows: proves its floors. A venv of its own, outside the lock.
$(LOWEST)/.installed: pyproject.toml $(STAMP)
	rm -rf $(LOWEST)
	$(VENV)/bin/uv venv --quiet --seed --python $(PY) $(LOWEST)
	$(VENV)/bin/uv pip install --quiet --python $(LOWEST)/bin/python --resolution lowest-direct -r pyproject.toml --extra test
	$(VENV)/bin/uv pip install --quiet --python $(LOWEST)/bin/python --no-deps -e .
	touch $@

test-lowest: $(LOWEST)/.installed
	$(REAPED) $(LOWEST)/bin/python -m pytest tests/unit -q -p no:cacheprovider -n 2

# requirements/runtime.txt (the image) and requirements/dev.txt (make run, make test, CI: the
# same runtime pins plus the dev, test and lint extras), from pyproject.toml. Keeps every pin
# it can; `make lock LOCK_FLAGS=--upgrade` moves everything to the newest allowed versions.
lock: $(STAMP)
	$(UV_COMPILE) -o requirements/runtime.txt
	$(UV_COMPILE) --all-extras -c requirements/runtime.txt -o requirements/dev.txt

# The time-sensitive tests once more on a shifted clock that starts at 23:30 UK time today, then at
# 00:30 UK time on the next two days the UK clocks change (tests/support/faketimes.py), and runs on
# from there: Python through time-machine, PostgreSQL through libfaketime (Debian's `faketime`), both
# from one offset (tests/support/shifted_time.py says why not libfaketime for Python). README "Tests".
CLOCK_TESTS := tests/unit $(filter-out %/test_crash.py,$(wildcard tests/integration/services/notifier/test_*.py)) \
	tests/integration/services/decisions/test_overdue_and_scale.py tests/integration/ops/test_demo.py
test-clock: $(STAMP)
	@bash tests/support/system-packages.sh postgresql faketime
	$(PY) -m tests.support.faketimes | while IFS='|' read -r label start; do \
	  echo "== time-sensitive tests at $$label ($$start UTC)"; \
	  OUTCOMES_CLOCK_START="$$start" OUTCOMES_CLOCK_SINCE=$$(date +%s) \
	    $(REAPED) $(PY) -m pytest $(CLOCK_TESTS) -q -p no:cacheprovider -n 2 --dist loadfile || exit 1; \
	done

# The pages' pictures in docs/screenshots/ (README "Pages"), from the demo council in a real browser.
screenshots: system-packages $(STAMP) $(NODE_STAMP)
	SCREENSHOTS_DIR=docs/screenshots $(REAPED) $(PY) -m pytest tests/browser -q -p no:cacheprovider -k screenshots

# The adversarial checks at length: schemathesis over every operation of the three OpenAPI
# documents with every role's key, and hostile CloudEvents against the consumer, with
# FUZZ_EXAMPLES examples each (make test runs them with 25 and 50).
FUZZ_EXAMPLES ?= 1000
fuzz: $(STAMP)
	OUTCOMES_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(REAPED) $(PY) -m pytest tests/fuzz tests/unit/services/intake/entrypoints/test_consumer_properties.py -q -p no:cacheprovider -n 2

# Every benchmark on both engines with py-spy profiles; docs/benchmarks.md is rewritten only by a
# run that includes 1,000,000 contributions (e.g. `make bench BENCH_CHAIN_SIZES=100000` does not).
# BENCH_PG_CHAIN_SIZES: the PostgreSQL run's, when they should differ (its bulk load is slower).
BENCH_CHAIN_SIZES ?= 100000,1000000
BENCH_PG_CHAIN_SIZES ?= $(BENCH_CHAIN_SIZES)
BENCH_ENGINES ?= sqlite postgresql
bench: $(STAMP)
	$(PY) -m bench --profile --chain-sizes $(BENCH_CHAIN_SIZES) --postgresql-chain-sizes $(BENCH_PG_CHAIN_SIZES) \
	  $(foreach engine,$(BENCH_ENGINES),--engine $(engine))

# Mixed load for SOAK_SECONDS (default 120), then every count reconciled (docs/soak.md).
soak: $(STAMP)
	$(PY) -m bench.soak

# The soak with services killed, the broker paused, SMTP stopped and PostgreSQL restarted (~5 min).
chaos: $(STAMP)
	$(PY) -m bench.chaos

# Ruff, then the import contracts in pyproject.toml (README "How it is built").
lint: $(STAMP)
	$(VENV)/bin/ruff check shared services ops tests bench
	$(VENV)/bin/lint-imports

clean:
	rm -rf var .pytest_cache $(LOWEST)
