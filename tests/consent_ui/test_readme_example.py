"""The user store example in consent_ui/README.md runs and does what it says."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from tests.consent_ui.conftest import FakeAdminApi, submit

README = Path(__file__).resolve().parents[2] / "consent_ui" / "README.md"


def readme_example() -> str:
    [code] = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    return code


def test_the_readme_user_store_plugs_in(monkeypatch):
    monkeypatch.setenv("HYDRA_ADMIN_URL", "http://127.0.0.1:4445")
    monkeypatch.setenv("CONSENT_UI_SECRET_KEY", "readme-example-key")
    namespace: dict = {}
    exec(compile(readme_example(), str(README), "exec"), namespace)  # noqa: S102
    app = namespace["app"]
    admin = FakeAdminApi()
    app.extensions["consent_ui"] = dataclasses.replace(
        app.extensions["consent_ui"], admin_api=admin
    )
    client = app.test_client()
    admin.add_login()

    page = client.get("/login?login_challenge=login-1")
    assert "Demo account" not in page.get_data(as_text=True)
    wrong = submit(client, page, "login", email="ann@example.com", password="nope")
    assert "The email or password is incorrect." in wrong.get_data(as_text=True)
    unknown = submit(client, wrong, "login", email="bob@example.com", password="s3cret!")
    assert unknown.status_code == 200
    right = submit(client, unknown, "login", email="Ann@Example.com", password="s3cret!")
    assert right.status_code == 302
    assert admin.called("accept_login")[0].arguments["subject"] == "3f2c9a"

    admin.add_consent(subject="3f2c9a", skip=True, scopes=("openid", "email"))
    client.get("/consent?consent_challenge=consent-1")
    [accept] = admin.called("accept_consent")
    assert accept.arguments["id_token_claims"] == {
        "email": "ann@example.com",
        "email_verified": True,
    }
