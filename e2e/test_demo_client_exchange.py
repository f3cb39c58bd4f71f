"""demo_client's "Exchange the access token" (RFC 8693) in a real browser against the real
stack: the button, the answer with both tokens' introspection side by side, and the
inspector's step explaining it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e.conftest import Stack
from e2e.test_browser_flows import allow, logged_in, sign_in, start_login

DOWNSTREAM = "https://downstream.example/"


def test_exchange_the_access_token_for_another_audience(page: Page, stack: Stack):
    start_login(page, stack)
    sign_in(page)
    allow(page)
    logged_in(page, stack)

    page.get_by_role("button", name="Exchange the access token").click()
    logged_in(page, stack)
    answer = page.locator("#exchange-answer")
    expect(answer.get_by_role("heading", name="Token exchange (RFC 8693)")).to_be_visible()
    expect(answer.locator("#exchange-audience")).to_have_text(DOWNSTREAM)
    expect(answer.locator("#exchanged-token")).to_have_text(re.compile(r"^.{8}…$"))
    rows = answer.locator("#exchange-comparison")
    aud = rows.locator("tr[data-claim=aud] td")
    expect(aud.nth(1)).to_contain_text(DOWNSTREAM)
    expect(aud.nth(0)).not_to_contain_text(DOWNSTREAM)
    client = rows.locator("tr[data-claim=client_id] td")
    expect(client.nth(0)).to_have_text("e2e-demo-client")
    expect(client.nth(1)).to_have_text("e2e-demo-client")
    subject = rows.locator("tr[data-claim=sub] td")
    assert subject.nth(0).inner_text() == subject.nth(1).inner_text() != ""

    page.goto(stack.client + "/inspector")
    step = page.locator('[data-step="token-exchange"]')
    expect(step).to_have_count(1)
    expect(step).to_contain_text(
        "The client traded the user's token for one meant for another audience; the server "
        "checked that the token was issued to this client (RFC 8693 §2.1)."
    )
