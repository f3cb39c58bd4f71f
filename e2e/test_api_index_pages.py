"""The API roots that ``make demo`` prints, in a real browser (issue #12): an index page in
the project's look on the public and the admin port, its style allowed by its own
Content-Security-Policy, no request answering 404 (the favicon included), and links that
lead somewhere."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import Stack

PAGE_BACKGROUND = "rgb(243, 245, 249)"  # --page of the stylesheet: the style applied


def _watch(page: Page) -> tuple[list, list]:
    answers, refusals = [], []
    page.on("response", lambda response: answers.append(response))
    page.on(
        "console",
        lambda message: (
            refusals.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return answers, refusals


@pytest.mark.parametrize(
    ("port", "heading", "link"),
    [
        ("public", "authserver: public API", "/.well-known/openid-configuration"),
        ("admin", "authserver: admin API", "/admin/version"),
    ],
)
def test_api_root_is_an_index_page(page: Page, stack: Stack, port, heading, link):
    base = stack.public if port == "public" else stack.admin
    answers, refusals = _watch(page)
    page.goto(base + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == PAGE_BACKGROUND
    assert page.request.get(base + "/favicon.ico").status == 200
    assert refusals == []
    assert [a.url for a in answers if a.status == 404] == []

    with page.expect_response(lambda response: response.url.endswith(link)) as followed:
        page.get_by_role("link", name=link).click()
    assert followed.value.status == 200
    assert followed.value.headers["content-type"].startswith("application/json")
