# Two commands for a fresh machine (Python >= 3.11 with its venv module, and make; on
# Debian/Ubuntu: apt-get install python3 python3-venv make):
#   make demo         run the whole stack on the embedded SQLite database (Ctrl-C stops it)
#   make test         run every test (PostgreSQL tests need AUTHSERVER_TEST_POSTGRES_DSN)
#   make demo-reset   the demo again, from an empty database

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# One stamp per need: `make demo` installs the package only; `make test` adds the test
# tools (ruff, pytest, Playwright, Granian, ...).
DEMO_STAMP := $(VENV)/.installed-demo
TEST_STAMP := $(VENV)/.installed-test
# pip's and setuptools' chatter (the editable-install banner, warnings) goes here, and is
# shown only when an install fails: the first line of `make demo` is then the demo's own.
PIP_LOG := $(VENV)/pip.log
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# $(call pip,ARGS): pip install ARGS, silent unless it fails.
pip = $(PIP_INSTALL) $(1) >>$(PIP_LOG) 2>&1 || { cat $(PIP_LOG) >&2; \
  echo "make: pip install $(1) failed (its output is above, and in $(PIP_LOG))" >&2; exit 1; }

# What a fresh machine lacks, each said in one line. The version check must run on an old
# Python too (no f-strings), and holds no single quote or hash (shell and make syntax).
NO_PYTHON := make: $(PYTHON) not found; install Python 3.11 or newer \
  (Debian/Ubuntu: apt-get install python3 python3-venv)
PYTHON_VERSION_CHECK := import sys; v = sys.version_info[:2]; sys.exit(None if v >= (3, 11) \
  else "make: Python 3.11 or newer is needed; $(PYTHON) is Python %d.%d (install a newer \
  python3 with its venv module, then make PYTHON=python3.X ...)" % v)
NO_ENSUREPIP := make: $(PYTHON) cannot create a virtualenv (no ensurepip); \
  on Debian/Ubuntu: apt-get install python3-venv

.PHONY: demo demo-reset test lint format clean

# Debian's python3 without python3-venv may pass the ensurepip check and still fail to
# make the virtualenv, in several lines: that case is told in one line too.
$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "$(NO_PYTHON)" >&2; exit 1; }
	@$(PYTHON) -c '$(PYTHON_VERSION_CHECK)'
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "$(NO_ENSUREPIP)" >&2; exit 1; }
	@out=$$($(PYTHON) -m venv $(VENV) 2>&1) || { rm -rf $(VENV); case "$$out" in \
	  *ensurepip*) echo "$(NO_ENSUREPIP)" ;; *) echo "$$out" ;; esac >&2; exit 1; }
	@$(call pip,--upgrade pip)

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing authserver into $(VENV) (pip's output: $(PIP_LOG))"
	@$(call pip,-e .)
	@touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing authserver and its test tools into $(VENV) (pip's output: $(PIP_LOG))"
	@$(call pip,-e '.[test]')
	@touch $@ $(DEMO_STAMP)

# authserver (public 9000, admin 9001), the login & consent app (9020) and the demo client
# (9010), on SQLite, with a system secret kept in .authserver-demo/ (see `authserver demo`).
demo: $(DEMO_STAMP)
	@exec $(BIN)/authserver demo

# The same, from an empty database (remembered logins and consents, clients and tokens
# gone); the system secret and the logs in .authserver-demo/ are kept.
demo-reset: $(DEMO_STAMP)
	@exec $(BIN)/authserver demo --reset

# Fast tests first; the browser tests and the docker compose test last. The end-to-end
# tests use chromium from PATH (or AUTHSERVER_E2E_BROWSER), else Playwright's own browser.
# The integration and browser tests mostly wait on real processes: all but the compose
# test run in one parallel session (pytest-xdist; TEST_JOBS=1 runs them one at a time),
# which ends with its 15 slowest tests. If PostgreSQL tests did not run (no
# AUTHSERVER_TEST_POSTGRES_DSN), the notice is repeated as the very last line.
TEST_JOBS ?= 3
test: $(TEST_STAMP)
	$(BIN)/ruff check .
	@[ -n "$$AUTHSERVER_E2E_BROWSER" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
	  || command -v google-chrome >/dev/null || $(BIN)/playwright install chromium >/dev/null 2>&1 \
	  || echo "make: no Chromium, and Playwright could not download one: the browser tests will be skipped (apt-get install chromium, or set AUTHSERVER_E2E_BROWSER)"
	$(BIN)/pytest -n $(TEST_JOBS) -m "not compose" --durations=15 \
	  tests/unit tests/consent_ui tests/demo_client tests/integration e2e
	$(BIN)/pytest e2e -m compose
	@cat .pytest_cache/postgres-did-not-run.txt 2>/dev/null || true

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(TEST_STAMP)
	$(BIN)/ruff format .

# The demo's data (its system secret, SQLite database and logs) is not a build product.
KEPT_DEMO_DATA := Kept .authserver-demo/ (the demo's system secret, database and logs): \
  make demo-reset starts the demo on an empty database; rm -rf .authserver-demo removes it all.
clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
	@[ ! -d .authserver-demo ] || echo "$(KEPT_DEMO_DATA)"
