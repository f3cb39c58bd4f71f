"""The device authorization grant (RFC 8628) in a real browser: demo_client's device page
plays the device and polls while the user, in another tab, enters the code in consent_ui,
logs in and consents; then the device page shows the tokens, and the inspector the polls."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import DEMO_USER, Stack


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_device_logs_in_while_the_user_enters_the_code(page: Page, stack: Stack):
    page.goto(stack.client + "/")
    page.get_by_role("link", name=re.compile("device", re.I)).first.click()
    page.get_by_role("button", name="Start a device login").click()
    user_code = page.locator("#user-code").inner_text().strip()
    verification_uri = page.locator(".device-uri a").get_attribute("href")
    assert re.fullmatch(r"[A-Z0-9]{6,12}", user_code), user_code
    assert verification_uri.startswith(stack.public)

    # The user, on "another device": the plain verification URI, the code typed by hand,
    # with a dash and in lower case as people do.
    phone = page.context.new_page()
    phone.goto(verification_uri)
    phone.wait_for_url(re.compile(r".*/device\?device_challenge="))
    typed = user_code[:4].lower() + "-" + user_code[4:].lower()
    phone.get_by_label(re.compile("code", re.I)).fill(typed)
    phone.get_by_role("button", name=re.compile("continue|next|submit", re.I)).click()
    phone.wait_for_url(re.compile(r".*/login\?login_challenge="))
    expect(phone.locator(".device-notice")).to_be_visible()  # RFC 8628 §5.4
    phone.get_by_label("Email").fill(DEMO_USER[0])
    phone.get_by_label("Password").fill(DEMO_USER[1])
    phone.get_by_role("button", name="Log in").click()
    phone.wait_for_url(re.compile(r".*/consent\?consent_challenge="))
    expect(phone.locator(".device-notice")).to_be_visible()
    phone.get_by_role("button", name="Allow").click()
    phone.wait_for_url(re.compile(r".*/device/success"))
    expect(phone.get_by_role("heading", level=1)).to_contain_text(re.compile("device", re.I))

    # Meanwhile the device page kept polling; it now shows the tokens.
    page.wait_for_url(re.compile(re.escape(stack.client) + r"/(tokens)?(\?.*)?$"), timeout=30_000)
    expect(page.get_by_role("heading", name="You are logged in")).to_be_visible()
    assert page.locator("code#access-token").inner_text().startswith("ory_at_")

    # The inspector shows the device authorization request and the polls of the token
    # endpoint with the device grant (how many depends on how fast the user was).
    page.goto(stack.client + "/inspector")
    expect(page.get_by_text("POST /oauth2/device/auth").first).to_be_visible()
    expect(page.get_by_text("grant-type:device_code").first).to_be_visible()
