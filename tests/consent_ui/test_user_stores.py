"""Plugging in a user store by name (CONSENT_UI_USER_STORE / --user-store), and the SQLite
example store with its ``consent-ui add-user`` command."""

from __future__ import annotations

import io
import sqlite3
import sys

import pytest
from argon2 import PasswordHasher

from consent_ui import cli
from consent_ui.config import ConfigError
from consent_ui.sqlite_users import DuplicateEmail, SqliteUserStore
from consent_ui.store_loader import load_user_store
from tests.consent_ui.conftest import fast_hasher

STORE_MODULE = """
from consent_ui.users import SingleUserStore

def good():
    return SingleUserStore.from_settings("ann@example.com", "Ann Lee", "pw-of-ann")

def fails():
    raise RuntimeError("the database\\nis down")

def not_a_store():
    return 42

broken = None
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    (tmp_path / "plugin_store.py").write_text(STORE_MODULE)
    (tmp_path / "broken_module.py").write_text("raise KeyError('at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "plugin_store"
    sys.modules.pop("plugin_store", None)
    sys.modules.pop("broken_module", None)


def test_a_store_loads_by_its_import_path(plugin):
    store = load_user_store(f"{plugin}:good")

    assert store.authenticate("ann@example.com", "pw-of-ann").subject == "ann@example.com"


def test_a_class_is_a_factory_too(tmp_path, monkeypatch):
    monkeypatch.setenv("CONSENT_UI_USER_DB", str(tmp_path / "users.sqlite"))
    SqliteUserStore.create(tmp_path / "users.sqlite")

    store = load_user_store("consent_ui.sqlite_users:from_env")

    assert isinstance(store, SqliteUserStore)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("plugin_store", "must look like package.module:factory"),
        (":good", "must look like package.module:factory"),
        ("plugin_store:", "must look like package.module:factory"),
        ("plugin_store:good\x00", "must look like package.module:factory"),
        ("no_such_module_here:good", "cannot import 'no_such_module_here'"),
        ("broken_module:x", "importing 'broken_module' failed: KeyError"),
        ("plugin_store:missing", "has no 'missing'"),
        ("plugin_store:broken", "has no 'broken'"),
        ("plugin_store:STORE", "has no 'STORE'"),
        ("consent_ui.config:DEMO_EMAIL", "is not callable"),
        ("plugin_store:fails", "failed: RuntimeError: the database is down"),
        ("plugin_store:not_a_store", "has no authenticate, get, claims method"),
    ],
)
def test_a_bad_store_is_one_clear_line(plugin, spec, says):
    with pytest.raises(ConfigError) as caught:
        load_user_store(spec)

    message = str(caught.value)
    assert says in message
    assert message.startswith("CONSENT_UI_USER_STORE")
    assert "\n" not in message


def test_the_command_stops_at_start_with_one_line(plugin, monkeypatch, capsys):
    monkeypatch.setenv("HYDRA_ADMIN_URL", "http://127.0.0.1:4445")
    monkeypatch.setenv("CONSENT_UI_USER_STORE", f"{plugin}:fails")

    assert cli.main(["--port", "1"]) == 2
    assert capsys.readouterr().err.count("\n") == 1

    assert cli.main(["--user-store", "nope", "--port", "1"]) == 2  # the option wins
    assert "got 'nope'" in capsys.readouterr().err


def test_the_command_serves_the_loaded_store(plugin, monkeypatch):
    monkeypatch.setenv("HYDRA_ADMIN_URL", "http://127.0.0.1:4445")
    built = {}
    monkeypatch.setattr(cli, "create_app", lambda config, user_store: built.update(s=user_store))
    monkeypatch.setattr(cli, "create_server", _no_server)

    cli.main(["--user-store", f"{plugin}:good"])

    assert built["s"].get("ann@example.com").name == "Ann Lee"


def _no_server(*_args, **_kwargs):
    raise OSError(99, "no listening in tests")


# -- the SQLite example store -----------------------------------------------------------


@pytest.fixture
def store(tmp_path) -> SqliteUserStore:
    return SqliteUserStore.create(tmp_path / "users.sqlite", fast_hasher())


def test_users_authenticate_by_email_in_any_case(store):
    ann = store.add_user("Ann@Example.com", "Ann Lee", "s3cret!")

    assert store.authenticate(" ann@example.COM ", "s3cret!") == ann
    assert store.authenticate("ann@example.com", "wrong") is None
    assert store.authenticate("bob@example.com", "s3cret!") is None
    assert store.get(ann.subject) == ann
    assert store.get("ann@example.com") is None  # the subject is an id, not the email
    assert (ann.given_name, ann.family_name, ann.email_verified) == ("Ann", "Lee", True)
    assert store.claims(ann, ["email"]) == {"email": "Ann@Example.com", "email_verified": True}


def test_passwords_are_stored_as_argon2id_hashes(store):
    store.add_user("ann@example.com", "Ann", "s3cret!")

    with sqlite3.connect(store.path) as db:
        [(stored,)] = db.execute("SELECT password_hash FROM users").fetchall()
    assert stored.startswith("$argon2id$")
    assert "s3cret!" not in stored


def test_one_account_per_email(store):
    store.add_user("ann@example.com", "Ann", "one")

    with pytest.raises(DuplicateEmail):
        store.add_user("ANN@example.com ", "Ann again", "two")


def test_a_weak_hash_is_upgraded_at_the_next_login(store):
    ann = store.add_user("ann@example.com", "Ann", "s3cret!")
    stronger = SqliteUserStore(
        store.path, PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    )

    assert stronger.authenticate("ann@example.com", "s3cret!") == ann
    with sqlite3.connect(store.path) as db:
        [(stored,)] = db.execute("SELECT password_hash FROM users").fetchall()
    assert "m=16,t=2" in stored


def test_the_server_never_creates_an_empty_database(tmp_path):
    missing = tmp_path / "typo.sqlite"

    with pytest.raises(ValueError, match="consent-ui add-user"):
        SqliteUserStore.open(missing)
    assert not missing.exists()


# -- consent-ui add-user ----------------------------------------------------------------


def add_user(monkeypatch, capsys, *argv, stdin="s3cret!\n"):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status = cli.main(["add-user", *argv])
    return status, capsys.readouterr()


def test_add_user_reads_the_password_from_stdin(tmp_path, monkeypatch, capsys):
    db = tmp_path / "users.sqlite"

    status, out = add_user(
        monkeypatch, capsys, "ann@example.com", "--name", "Ann Lee", "--db", str(db)
    )

    assert status == 0
    assert "ann@example.com" in out.out
    assert SqliteUserStore.open(db).authenticate("ann@example.com", "s3cret!").name == "Ann Lee"


def test_add_user_uses_consent_ui_user_db(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CONSENT_UI_USER_DB", str(tmp_path / "env.sqlite"))

    assert add_user(monkeypatch, capsys, "ann@example.com")[0] == 0
    assert SqliteUserStore.open(tmp_path / "env.sqlite").authenticate("ann@example.com", "s3cret!")


def test_add_user_asks_twice_on_a_terminal(tmp_path, monkeypatch, capsys):
    answers = iter(["typed-1", "typed-2"])
    monkeypatch.setattr("getpass.getpass", lambda _prompt: next(answers))
    monkeypatch.setattr(sys, "stdin", _Terminal())

    status = cli.main(["add-user", "ann@example.com", "--db", str(tmp_path / "u.sqlite")])

    assert status == 2
    assert "differ" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(
    ("argv", "stdin"),
    [
        (["not-an-email"], "pw\n"),
        (["ann @example.com"], "pw\n"),
        (["ann@example.com\x00"], "pw\n"),
        (["a" * 300 + "@example.com"], "pw\n"),
        (["ann@example.com", "--name", "Ann\x00"], "pw\n"),
        (["ann@example.com", "--name", "n" * 300], "pw\n"),
        (["ann@example.com"], "\n"),
        (["ann@example.com"], ""),
        (["ann@example.com"], "pw\x00\n"),
        (["ann@example.com"], "p" * 2000 + "\n"),
    ],
    ids=[
        "no @",
        "space",
        "NUL email",
        "long email",
        "NUL name",
        "long name",
        "empty password",
        "no stdin",
        "NUL password",
        "long password",
    ],
)
def test_add_user_refuses_bad_input_in_one_line(tmp_path, monkeypatch, capsys, argv, stdin):
    db = tmp_path / "users.sqlite"

    status, out = add_user(monkeypatch, capsys, *argv, "--db", str(db), stdin=stdin)

    assert status == 2
    assert out.err.count("\n") == 1
    assert not db.exists()


def test_add_user_twice_is_an_error(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "users.sqlite")
    add_user(monkeypatch, capsys, "ann@example.com", "--db", db)

    status, out = add_user(monkeypatch, capsys, "ANN@example.com", "--db", db)

    assert status == 1
    assert out.err.count("\n") == 1


def test_the_password_is_never_an_argument(monkeypatch, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["add-user", "ann@example.com", "--password", "s3cret!"])

    assert exited.value.code == 2


def test_an_unwritable_database_is_one_line(tmp_path, monkeypatch, capsys):
    status, out = add_user(monkeypatch, capsys, "ann@example.com", "--db", str(tmp_path))

    assert status == 1
    assert out.err.count("\n") == 1
