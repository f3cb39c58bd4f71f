# Two commands for a fresh machine (Python >= 3.11 and make):
#   make demo   run authserver on the embedded SQLite database (Ctrl-C stops it)
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

# The system secret is generated once and kept (owner-only) so that tokens and signing
# keys survive restarts; the database is authserver.sqlite in this directory. --dev, as in
# the guide, lets the login flow's cookies work over plain http on 127.0.0.1.
demo: $(STAMP)
	@umask 077; [ -s .authserver-secret ] || $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))' > .authserver-secret
	@SECRETS_SYSTEM="$$(cat .authserver-secret)" DSN="sqlite:///authserver.sqlite" $(BIN)/authserver migrate sql --yes -e
	@echo "Public API: http://127.0.0.1:4444/   Admin API: http://127.0.0.1:4445/   (Ctrl-C stops)"
	@SECRETS_SYSTEM="$$(cat .authserver-secret)" DSN="sqlite:///authserver.sqlite" exec $(BIN)/authserver serve all --dev

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest tests/unit tests/consent_ui tests/demo_client
	$(BIN)/pytest tests/integration

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
