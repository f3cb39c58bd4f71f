# Two commands for a fresh machine (Python >= 3.11 and make):
#   make demo   run the whole stack on the embedded SQLite database (Ctrl-C stops it)
#   make test   run every test (PostgreSQL tests need AUTHSERVER_TEST_POSTGRES_DSN)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# authserver (public 9000, admin 9001), the login & consent app (9020) and the demo client
# (9010), on SQLite, with a system secret kept in .authserver-demo/ (see `authserver demo`).
demo: $(STAMP)
	@exec $(BIN)/authserver demo

# Fast tests first; the browser tests and the docker compose test last. The end-to-end
# tests use chromium from PATH (or AUTHSERVER_E2E_BROWSER), else Playwright's own browser.
# The integration and browser tests mostly wait on real processes: all but the compose
# test run in one parallel session (pytest-xdist; TEST_JOBS=1 runs them one at a time),
# which ends with its 15 slowest tests. If PostgreSQL tests did not run (no
# AUTHSERVER_TEST_POSTGRES_DSN), the notice is repeated as the very last line.
TEST_JOBS ?= 3
test: $(STAMP)
	$(BIN)/ruff check .
	@[ -n "$$AUTHSERVER_E2E_BROWSER" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
	  || command -v google-chrome >/dev/null || $(BIN)/playwright install chromium
	$(BIN)/pytest -n $(TEST_JOBS) -m "not compose" --durations=15 \
	  tests/unit tests/consent_ui tests/demo_client tests/integration e2e
	$(BIN)/pytest e2e -m compose
	@cat .pytest_cache/postgres-did-not-run.txt 2>/dev/null || true

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
