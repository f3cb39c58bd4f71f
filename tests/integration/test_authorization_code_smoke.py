"""The happy path of the authorization code flow with PKCE, end to end over HTTP."""

from __future__ import annotations

from tests.integration.oauth_flow import FlowDriver, create_code_client


def test_code_flow_with_pkce_issues_access_refresh_and_id_tokens(dev_server):
    server = dev_server
    driver = FlowDriver(server, create_code_client(server))
    callback = driver.run()
    assert callback["state"] == driver.state
    assert callback["code"].startswith("ory_ac_")
    assert callback["iss"].rstrip("/") == server.public_url

    response = driver.exchange(callback["code"])
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["scope"] == "openid offline_access"
    assert tokens["refresh_token"].startswith("ory_rt_")
    assert tokens["id_token"].count(".") == 2
    assert driver.introspect(tokens["access_token"])["sub"] == "foo@bar.com"
