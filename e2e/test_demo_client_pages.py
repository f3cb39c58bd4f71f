"""demo_client's pages in a real browser: a short tokens page that links the inspector,
buttons that look like what they do, an inspector with one title before any login, and
no request that answers 404 (the favicon included)."""

from __future__ import annotations

from playwright.sync_api import Page, Response, expect

from e2e.conftest import Stack
from e2e.test_browser_flows import allow, logged_in, sign_in, start_login

MAX_TOKENS_PAGE_HEIGHT = 3500  # px at 1280x800 (~3,000 with the API call and exchange
# actions); the embedded inspector made it ~11,000


def background(page: Page, button: str) -> str:
    return page.get_by_role("button", name=button, exact=True).evaluate(
        "element => getComputedStyle(element).backgroundColor"
    )


def test_tokens_page_inspector_buttons_and_favicon(page: Page, stack: Stack):
    answers: list[Response] = []
    page.on("response", lambda answer: answers.append(answer))  # Playwright wants a function
    page.set_viewport_size({"width": 1280, "height": 800})

    # Before any login: one title, and an empty state that leads to the login.
    page.goto(stack.client + "/inspector")
    expect(page.locator("h1")).to_have_count(1)
    empty = page.locator("#inspector-empty")
    expect(empty.get_by_role("link", name="Log in")).to_have_attribute("href", "/login")
    expect(page.locator("[data-step]")).to_have_count(0)

    start_login(page, stack)
    sign_in(page)
    allow(page)
    logged_in(page, stack)

    # The tokens page is short: a summary of the steps and a link to the inspector.
    height = page.evaluate("document.body.scrollHeight")
    assert height < MAX_TOKENS_PAGE_HEIGHT, height
    expect(page.locator("[data-summary-step]").first).to_be_visible()
    expect(page.locator("[data-step]")).to_have_count(0)

    # Revoke and log out look unlike refresh, and unlike each other.
    colours = {name: background(page, name) for name in ("Refresh tokens", "Revoke", "Log out")}
    assert len(set(colours.values())) == 3, colours

    # The icon the pages link is served.
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(stack.client + icon).status == 200
    assert page.request.get(stack.client + "/favicon.ico").status == 200

    page.get_by_role("link", name="Open the inspector").click()
    page.wait_for_url(stack.client + "/inspector")
    expect(page.locator("h1")).to_have_count(1)
    summary_steps = page.locator("[data-step]")
    expect(summary_steps.first).to_be_visible()

    missing = [answer.url for answer in answers if answer.status == 404]
    assert missing == [], missing
