"""The demo client's "Exchange the access token" (RFC 8693) against a real ``authserver``,
over real HTTP, on both databases: ``--register`` gives the client the token-exchange grant
type and the default audience, the exchange works as it is, and a client without the grant
type gets ``unauthorized_client`` explained."""

from __future__ import annotations

import html
import re

import requests

from tests.integration.test_demo_client_flow import (  # noqa: F401 (demo_clients: a fixture)
    CLIENT_ID,
    SECRET,
    TIMEOUT,
    demo_clients,
    driver_for,
    log_in,
    press,
    stack,
    steps_of,
)

EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
DOWNSTREAM = "https://downstream.example/"


def comparison(page: str) -> dict[str, tuple[str, ...]]:
    table = page.split('id="exchange-comparison"')[1].split("</table>")[0]
    rows = {}
    for name, cells in re.findall(r'<tr data-claim="([^"]+)">(.*?)</tr>', table, re.S):
        values = re.findall(r"<td>(.*?)</td>", cells, re.S)
        rows[name] = tuple(html.unescape(re.sub(r"<[^>]+>", "", v)).strip() for v in values)
    return rows


def test_the_demo_client_exchanges_its_token_for_another_audience(
    server_factory,
    demo_clients,  # noqa: F811 (the fixture imported above)
    backend,
):
    server, demo = stack(server_factory, demo_clients, backend)
    stored = requests.get(f"{server.admin_url}/admin/clients/{CLIENT_ID}", timeout=TIMEOUT).json()
    assert EXCHANGE_GRANT in stored["grant_types"]
    assert stored["audience"] == [DOWNSTREAM]
    driver = driver_for(server, demo)
    log_in(driver, demo)

    response = press(driver, demo, "/exchange")
    assert response.status_code == 303, response.text
    page = driver.browser.get(demo.url + "/", timeout=TIMEOUT).text
    assert "The access token was exchanged for one for https://downstream.example/" in page
    assert "<code>issued_token_type</code></dt><dd><code>urn:ietf:params:oauth:token-type:" in page
    rows = comparison(page)
    assert rows["active"] == ("true", "true")
    assert DOWNSTREAM in rows["aud"][1] and DOWNSTREAM not in rows["aud"][0]
    assert rows["client_id"] == (CLIENT_ID, CLIENT_ID)
    assert rows["sub"][0] == rows["sub"][1] != ""
    assert set(rows["scope"][1].split()) <= set(rows["scope"][0].split())
    assert rows["exp"][1] <= rows["exp"][0]  # "YYYY-MM-DD HH:MM:SS UTC": sorts as times

    inspector = driver.browser.get(demo.url + "/inspector", timeout=TIMEOUT).text
    assert steps_of(inspector)[-3:] == ["token-exchange", "introspection", "introspection"]
    assert "the server checked that the token was issued to this client (RFC 8693 §2.1)" in (
        inspector
    )
    assert demo.stop() == 0


def test_without_the_grant_type_the_exchange_is_explained(
    server_factory,
    demo_clients,  # noqa: F811 (the fixture imported above)
    backend,
):
    server, demo = stack(server_factory, demo_clients, backend)
    driver = driver_for(server, demo)
    log_in(driver, demo)
    url = f"{server.admin_url}/admin/clients/{CLIENT_ID}"
    client = requests.get(url, timeout=TIMEOUT).json()
    client["grant_types"] = [g for g in client["grant_types"] if g != EXCHANGE_GRANT]
    client["client_secret"] = SECRET
    updated = requests.put(url, json=client, timeout=TIMEOUT)
    assert updated.status_code == 200, updated.text

    page = press(driver, demo, "/exchange")
    assert page.status_code == 400, page.text
    assert '<code class="error-code">unauthorized_client</code>' in page.text
    assert EXCHANGE_GRANT in page.text and "demo-client --register" in page.text
    home = driver.browser.get(demo.url + "/", timeout=TIMEOUT).text
    assert "You are logged in" in home and 'id="exchange-answer"' not in home
    assert demo.stop() == 0
