"""The "Plug in your users" section of consent_ui/README.md runs and does what it says: its
``my_users.py`` served by the ``consent-ui`` command line it shows, and the SQLite example
store created by its ``consent-ui add-user`` line and served by the next one."""

from __future__ import annotations

import dataclasses
import io
import re
import shlex
import sys
from pathlib import Path

import pytest

from consent_ui import cli
from tests.consent_ui.conftest import FakeAdminApi, submit

README = Path(__file__).resolve().parents[2] / "consent_ui" / "README.md"


def section() -> str:
    text = README.read_text()
    start = text.index("## Plug in your users")
    return text[start : text.index("\n## ", start + 1)]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section(), re.DOTALL)


def commands(block: str) -> list[tuple[dict, list[str]]]:
    """Each command of a shell block: its VAR=value prefixes and its argv."""
    found = []
    for line in block.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        env = {}
        while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        if words:
            found.append((env, words))
    return found


class Served:
    """``consent-ui`` run in-process: the app it would serve, without a listening port."""

    def __init__(self, monkeypatch):
        self.apps: list = []
        monkeypatch.setattr(cli, "create_server", lambda app, **_: self.apps.append(app))
        monkeypatch.setattr(cli, "serve", lambda *_: 0)
        monkeypatch.setattr(cli, "configure_logging", lambda *_: None)
        monkeypatch.setenv("CONSENT_UI_SECRET_KEY", "readme-example-key")

    def run(self, monkeypatch, env: dict, argv: list[str], stdin: str = ""):
        assert argv[0] == "consent-ui", argv
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        assert cli.main(argv[1:]) == 0, argv


@pytest.fixture
def served(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # the README's files are written and read here
    path = list(sys.path)
    yield Served(monkeypatch)
    sys.path[:] = path  # the loader adds the current directory
    sys.modules.pop("my_users", None)


def with_fake_admin_api(app) -> FakeAdminApi:
    admin = FakeAdminApi()
    app.extensions["consent_ui"] = dataclasses.replace(
        app.extensions["consent_ui"], admin_api=admin
    )
    return admin


def log_in(app, email: str, password: str, wrong: str = "nope"):
    admin = with_fake_admin_api(app)
    client = app.test_client()
    admin.add_login()
    page = client.get("/login?login_challenge=login-1")
    assert "Demo account" not in page.get_data(as_text=True)
    refused = submit(client, page, "login", email=email, password=wrong)
    unknown = submit(client, refused, "login", email="bob@example.com", password=password)
    assert (refused.status_code, unknown.status_code) == (200, 200)
    assert not admin.called("accept_login")
    right = submit(client, unknown, "login", email=email.upper(), password=password)
    assert right.status_code == 302
    return admin, client


def test_my_users_is_served_by_the_command_line_shown(served, monkeypatch, tmp_path):
    [code] = blocks("python")
    assert code.startswith("# my_users.py\n")
    (tmp_path / "my_users.py").write_text(code)
    [(env, argv)] = commands(blocks("sh")[0])
    assert env["CONSENT_UI_USER_STORE"] == "my_users:store"

    served.run(monkeypatch, env, argv)

    [app] = served.apps
    admin, client = log_in(app, "ann@example.com", "s3cret!")
    assert admin.called("accept_login")[0].arguments["subject"] == "3f2c9a"

    admin.add_consent(subject="3f2c9a", skip=True, scopes=("openid", "email"))
    client.get("/consent?consent_challenge=consent-1")
    [accept] = admin.called("accept_consent")
    assert accept.arguments["id_token_claims"] == {
        "email": "ann@example.com",
        "email_verified": True,
    }


def test_the_sqlite_store_is_made_and_served_as_shown(served, monkeypatch, tmp_path):
    add_user, serve = commands(blocks("sh")[1])
    assert add_user[1][:2] == ["consent-ui", "add-user"]
    assert not any("s3cret" in word for word in add_user[1])  # never a password argument

    served.run(monkeypatch, *add_user, stdin="ann-password-1\n")
    served.run(monkeypatch, *serve)

    [app] = served.apps
    admin, _ = log_in(app, "ann@example.com", "ann-password-1")
    subject = admin.called("accept_login")[0].arguments["subject"]
    assert subject != "ann@example.com"  # a stable id, not the email
    assert (tmp_path / serve[0]["CONSENT_UI_USER_DB"]).exists()


def test_the_main_readme_shows_the_same_commands():
    text = (README.parents[1] / "README.md").read_text()
    start = text.index("## Your own users in consent_ui")
    ours = text[start : text.index("\n## ", start + 1)]

    [shell] = re.findall(r"```sh\n(.*?)```", ours, re.DOTALL)
    assert shell == blocks("sh")[1]  # the SQLite store, tested above
    [code] = re.findall(r"```python\n(.*?)```", ours, re.DOTALL)
    assert "def store():  # CONSENT_UI_USER_STORE=my_users:store" in code
    assert code.startswith("# my_users.py\n")
