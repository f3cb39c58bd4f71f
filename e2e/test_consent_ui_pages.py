"""consent_ui's own pages in a real browser against the real stack: forgetting an app on
``/apps`` brings the consent page back, "forget my remembered login" on logout reaches
every browser, the index page, and a login with the SQLite example user store."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from e2e.conftest import DEMO_USER, Stack, _command, _stop, start_stack
from e2e.test_browser_flows import allow, logged_in, sign_in, start_login
from tests.conftest import migrated_database

CLIENT_ID = "e2e-demo-client"
ANN = ("ann@example.com", "ann-e2e-password")


def sign_in_to_apps(page: Page, stack: Stack, user=DEMO_USER) -> None:
    page.goto(stack.consent + "/apps")
    page.get_by_label("Email").fill(user[0])
    page.get_by_label("Password").fill(user[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(stack.consent + "/apps")


def test_forgetting_an_app_brings_its_consent_page_back(page: Page, stack: Stack):
    start_login(page, stack)
    sign_in(page, remember=True)
    allow(page, remember=True)
    logged_in(page, stack)
    page.goto(stack.client + "/login")
    logged_in(page, stack)  # remembered: no login, no consent page

    sign_in_to_apps(page, stack)
    app = page.locator(f"li[data-client-id='{CLIENT_ID}']")
    expect(app).to_be_visible()
    app.get_by_role("button", name="Forget").click()
    page.wait_for_url(stack.consent + "/apps")
    expect(page.get_by_role("status")).to_be_visible()
    expect(page.locator(f"li[data-client-id='{CLIENT_ID}']")).to_have_count(0)

    page.goto(stack.client + "/login")  # the login is still remembered; the consent is not
    allow(page)
    logged_in(page, stack)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_logout_can_forget_the_remembered_login_on_every_browser(
    browser: Browser, page: Page, stack: Stack
):
    other = browser.new_context().new_page()  # a second device of the same user
    try:
        for device in (page, other):
            start_login(device, stack)
            sign_in(device, remember=True)
            allow(device)  # not remembered: a remembered consent would skip on the other
            logged_in(device, stack)

        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(re.compile(r".*/logout\?logout_challenge="))
        page.get_by_label(re.compile("remembered login")).check()
        page.get_by_role("button", name="Yes, log me out").click()
        page.wait_for_url(stack.client + "/**")

        # The other browser is still logged in at the demo client (its own session), but
        # a new login there asks for the password: its "Remember me" is gone too.
        other.goto(stack.client + "/login")
        other.wait_for_url(re.compile(r".*/login\?login_challenge="))
        expect(other.get_by_label("Password")).to_be_visible()
    finally:
        other.context.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_index_page_says_what_this_is_and_where_to_go(page: Page, stack: Stack):
    page.goto(stack.consent + "/")

    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text(DEMO_USER[0])).to_be_visible()
    expect(page.locator(f"a[href='{stack.client}/']")).to_be_visible()
    assert requests.get(stack.consent + "/favicon.ico", timeout=10).status_code == 200

    page.locator("a[href='/apps']").click()
    page.wait_for_url(stack.consent + "/apps")
    expect(page.get_by_label("Password")).to_be_visible()


# -- the SQLite example store -----------------------------------------------------------


@pytest.fixture
def sqlite_users_stack(tmp_path) -> Iterator[Stack]:
    """The stack with consent-ui serving users from a SQLite file made by add-user."""
    users = tmp_path / "users.sqlite"
    subprocess.run(
        [*_command("consent-ui"), "add-user", ANN[0], "--name", "Ann Lee", "--db", str(users)],
        input=ANN[1] + "\n",
        text=True,
        check=True,
        capture_output=True,
        env=os.environ,
        timeout=60,
    )
    database = migrated_database("sqlite", tmp_path, "authserver_e2e")
    stack = start_stack(
        database,
        tmp_path,
        consent_env={
            "CONSENT_UI_USER_STORE": "consent_ui.sqlite_users:from_env",
            "CONSENT_UI_USER_DB": str(users),
        },
    )
    yield stack
    _stop(stack.apps)


def test_a_login_with_the_sqlite_example_store(page: Page, sqlite_users_stack: Stack):
    stack = sqlite_users_stack
    start_login(page, stack)
    expect(page.get_by_text("Demo account")).to_have_count(0)
    page.get_by_label("Email").fill(DEMO_USER[0])  # the single user is not served
    page.get_by_label("Password").fill(DEMO_USER[1])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()

    page.get_by_label("Email").fill(ANN[0])
    page.get_by_label("Password").fill(ANN[1])
    page.get_by_role("button", name="Log in").click()
    allow(page)
    logged_in(page, stack)
    claims = page.locator("#id-token-claims")
    expect(claims.locator("tr[data-claim='name']")).to_contain_text("Ann Lee")
    expect(claims.locator("tr[data-claim='sub']")).not_to_contain_text(ANN[0])
