"""Logging out everywhere: OpenID Connect Back-Channel Logout 1.0 and Front-Channel Logout
1.0, on both databases. The clients' logout endpoints are a test server
(``logout_receiver``) that records what arrives and answers as each test says."""

from __future__ import annotations

import base64
import contextlib
import html
import json
import os
import re
import secrets
import signal
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import (
    POSTGRES_ENV,
    _postgres_admin_dsn,
    _skipped_postgres,
    drop_postgres_database,
    migrated_database,
    start_server,
    wait_for,
)
from tests.integration.logout_receiver import Behaviour, LogoutReceiver
from tests.integration.oauth_flow import FlowDriver
from tests.integration.test_logout import (
    LOGGED_OUT,
    SESSION_COOKIE,
    accept,
    cookie_cleared,
    logged_in,
    logout_challenge_of,
    start_logout,
    unique_subject,
)

TIMEOUT = 10
EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.fixture
def receiver():
    receiver = LogoutReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def make_client(dev_server):
    """Clients of the shared server, deleted afterwards (their pending deliveries with
    them: a failing receiver is not retried for the rest of the run)."""
    made = []

    def make(server=dev_server, **fields):
        body = {
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "redirect_uris": ["http://127.0.0.1:9999/callback"],
            "post_logout_redirect_uris": [LOGGED_OUT],
            "scope": "openid offline_access",
            **fields,
        }
        response = requests.post(server.admin_url + "/admin/clients", json=body, timeout=TIMEOUT)
        assert response.status_code == 201, response.text
        made.append((server, response.json()["client_id"]))
        return response.json()

    yield make
    for server, client_id in made:
        with contextlib.suppress(requests.RequestException):
            requests.delete(f"{server.admin_url}/admin/clients/{client_id}", timeout=TIMEOUT)


def join_session(driver: FlowDriver, client: dict, subject: str) -> dict:
    """The same browser logs in to another client (its login is skipped: one session)."""
    other = FlowDriver(driver.server, client)
    other.browser = driver.browser
    challenge = other.start()
    assert other.get_login(challenge).json()["skip"] is True
    consent = other.consent_challenge_after(other.accept_login(challenge, subject=subject))
    response = other.exchange(other.callback_after(other.accept_consent(consent))["code"])
    assert response.status_code == 200, response.text
    return response.json()


def log_out(driver: FlowDriver, tokens: dict) -> requests.Response:
    """RP-initiated logout through to the server's last answer (a redirect or the
    front-channel page)."""
    challenge = logout_challenge_of(
        start_logout(driver, id_token_hint=tokens["id_token"], post_logout_redirect_uri=LOGGED_OUT)
    )
    return driver.follow(accept(driver, challenge))


def claims_of(server, token: str) -> tuple[dict, dict]:
    jwks = requests.get(server.public_url + "/.well-known/jwks.json", timeout=TIMEOUT).json()
    algorithms = ["RS256", "ES256", "EdDSA"]
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=algorithms)
    return decoded.header, decoded.claims


def id_claims(tokens: dict) -> dict:
    """The ID token's claims, read only (its signature is the token endpoint tests' job)."""
    payload = tokens["id_token"].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def frame_urls(page: str) -> list[str]:
    return [html.unescape(src) for src in re.findall(r'<iframe[^>]* src="([^"]+)"', page)]


# -- back channel ---------------------------------------------------------------------------


def test_logout_token_claims_and_signature(dev_server, make_client, receiver):
    client = make_client(
        backchannel_logout_uri=receiver.url("/bc"), backchannel_logout_session_required=True
    )
    subject = unique_subject()
    driver, _, tokens = logged_in(dev_server, client, subject)

    response = log_out(driver, tokens)
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == LOGGED_OUT
    assert cookie_cleared(response, SESSION_COOKIE)
    # The answer waited for the (prompt) client: the token is there already.
    [received] = receiver.at("/bc")
    assert received.method == "POST"
    assert received.content_type == "application/x-www-form-urlencoded"
    assert list(received.form) == ["logout_token"]

    header, claims = claims_of(dev_server, received.logout_token)
    assert header["typ"] == "logout+jwt"
    assert header["kid"]
    assert set(claims) == {"iss", "aud", "iat", "exp", "jti", "events", "sub", "sid"}
    assert claims["iss"] == id_claims(tokens)["iss"]
    assert claims["aud"] == [client["client_id"]]
    assert claims["sub"] == subject
    assert claims["sid"] == id_claims(tokens)["sid"]
    assert claims["events"] == {EVENT: {}}
    assert claims["exp"] - claims["iat"] == 120
    assert abs(claims["iat"] - time.time()) < 60
    assert "nonce" not in claims


def test_a_logout_token_is_signed_as_the_clients_id_tokens(dev_server, make_client, receiver):
    """Back-Channel Logout §2.4: the ID tokens' keys sign it (the client's algorithm)."""
    client = make_client(
        backchannel_logout_uri=receiver.url("/bc-es"), id_token_signed_response_alg="ES256"
    )
    driver, _, tokens = logged_in(dev_server, client, unique_subject())
    assert log_out(driver, tokens).status_code == 302
    [received] = receiver.at("/bc-es")
    header, claims = claims_of(dev_server, received.logout_token)
    encoded = tokens["id_token"].split(".")[0]
    id_header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    assert header["alg"] == id_header["alg"] == "ES256"
    assert header["kid"] == id_header["kid"]
    assert claims["aud"] == [client["client_id"]]


def test_every_client_of_the_session_is_told(dev_server, make_client, receiver):
    first = make_client(
        backchannel_logout_uri=receiver.url("/first"),
        frontchannel_logout_uri=receiver.url("/first-front"),
        frontchannel_logout_session_required=True,
    )
    second = make_client(backchannel_logout_uri=receiver.url("/second"))
    third = make_client(frontchannel_logout_uri=receiver.url("/third-front"))
    silent = make_client()  # no logout URIs: nothing to tell
    elsewhere = make_client(backchannel_logout_uri=receiver.url("/elsewhere"))
    subject = unique_subject()
    driver, _, tokens = logged_in(dev_server, first, subject)
    for client in (second, third, silent):
        join_session(driver, client, subject)
    # The same user in another browser: that session does not end.
    logged_in(dev_server, elsewhere, subject)
    sid = id_claims(tokens)["sid"]

    page = log_out(driver, tokens)
    assert page.status_code == 200, page.text
    assert page.headers["Content-Type"].startswith("text/html")
    assert cookie_cleared(page, SESSION_COOKIE)

    for path, client in (("/first", first), ("/second", second)):
        [received] = receiver.at(path)
        _, claims = claims_of(dev_server, received.logout_token)
        assert claims["aud"] == [client["client_id"]]
        assert (claims["sub"], claims["sid"]) == (subject, sid)
    assert receiver.at("/elsewhere") == []

    frames = frame_urls(page.text)
    issuer = dev_server.public_url + "/"
    by_path = {urlsplit(url).path: url for url in frames}
    assert set(by_path) == {"/first-front", "/third-front"}
    assert parse_qs(urlsplit(by_path["/first-front"]).query) == {"iss": [issuer], "sid": [sid]}
    assert urlsplit(by_path["/third-front"]).query == ""  # sid not required: none sent
    policy = page.headers["Content-Security-Policy"]
    assert f"frame-src {receiver.origin}" in policy
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'sha256-" in policy
    assert f'href="{LOGGED_OUT}"' in page.text  # a link to go on, and a meta refresh
    assert f'url={LOGGED_OUT}"' in page.text
    assert 'sandbox="allow-same-origin allow-scripts"' in page.text


def test_slow_failing_and_redirecting_clients_do_not_hold_up_logout(
    dev_server, make_client, receiver
):
    hold = Behaviour(hold=threading.Event())
    clients = [
        make_client(backchannel_logout_uri=receiver.url("/slow", hold)),
        make_client(backchannel_logout_uri=receiver.url("/failing", Behaviour(status=500))),
        make_client(
            backchannel_logout_uri=receiver.url(
                "/moved", Behaviour(status=302, location=receiver.url("/stolen"))
            )
        ),
        make_client(backchannel_logout_uri=receiver.url("/prompt")),
    ]
    subject = unique_subject()
    driver, _, tokens = logged_in(dev_server, clients[0], subject)
    for client in clients[1:]:
        join_session(driver, client, subject)

    challenge = logout_challenge_of(
        start_logout(driver, id_token_hint=tokens["id_token"], post_logout_redirect_uri=LOGGED_OUT)
    )
    verifier_url = accept(driver, challenge)
    began = time.monotonic()
    response = driver.follow(verifier_url)
    elapsed = time.monotonic() - began
    assert response.status_code == 302, response.text
    # Held for the slow client at most the 3 s bound (plus this request's own work), not
    # for the 5 s a delivery may take, and not for ever.
    assert elapsed < 4.8, elapsed
    assert len(receiver.at("/prompt")) == 1

    # The failing client is tried again, with backoff, each time with a new token.
    wait_for(lambda: len(receiver.at("/failing")) >= 3, timeout=20)
    attempts = receiver.at("/failing")[:3]
    jtis = {claims_of(dev_server, item.logout_token)[1]["jti"] for item in attempts}
    assert len(jtis) == 3
    # Backoff 1 s then 2 s, on the server's whole-second clock and one-second poll.
    assert attempts[2].at - attempts[0].at >= 1.0
    # A redirect is a failure, never followed.
    wait_for(lambda: len(receiver.at("/moved")) >= 2, timeout=20)
    assert receiver.at("/stolen") == []
    # The prompt client was told once: no retries of a delivery that succeeded.
    assert len(receiver.at("/prompt")) == 1
    hold.hold.set()

    log = dev_server.log()
    assert "back-channel logout to client" in log
    for item in receiver.received:
        if "logout_token" in item.form:
            assert item.logout_token not in log
            assert item.logout_token.split(".")[2] not in log


def test_a_failing_client_is_retried_until_it_answers(dev_server, make_client, receiver):
    flaky = Behaviour(status=503)
    client = make_client(backchannel_logout_uri=receiver.url("/flaky", flaky))
    driver, _, tokens = logged_in(dev_server, client)
    assert log_out(driver, tokens).status_code == 302
    wait_for(lambda: len(receiver.at("/flaky")) >= 2, timeout=20)
    flaky.status = 200
    wait_for(
        lambda: (
            "back-channel logout delivered to client " + client["client_id"] in dev_server.log()
        ),
        timeout=20,
    )
    settled = len(receiver.at("/flaky"))
    time.sleep(2.5)  # the backoff's next two steps: nothing more may arrive
    assert len(receiver.at("/flaky")) == settled


# -- ended by the administrator -------------------------------------------------------------


def test_admin_revoking_sessions_tells_their_clients(dev_server, make_client, receiver):
    client = make_client(backchannel_logout_uri=receiver.url("/admin-bc"))
    subject = unique_subject()
    first, _, first_tokens = logged_in(dev_server, client, subject)
    second, _, second_tokens = logged_in(dev_server, client, subject)
    first_sid, second_sid = id_claims(first_tokens)["sid"], id_claims(second_tokens)["sid"]
    assert first_sid != second_sid

    revoke = requests.delete(
        dev_server.admin_url + "/admin/oauth2/auth/sessions/login",
        params={"sid": first_sid},
        timeout=TIMEOUT,
    )
    assert revoke.status_code == 204, revoke.text
    [received] = receiver.at("/admin-bc")  # sent before the answer
    assert claims_of(dev_server, received.logout_token)[1]["sid"] == first_sid

    revoke = requests.delete(
        dev_server.admin_url + "/admin/oauth2/auth/sessions/login",
        params={"subject": subject},
        timeout=TIMEOUT,
    )
    assert revoke.status_code == 204, revoke.text
    sids = [claims_of(dev_server, item.logout_token)[1]["sid"] for item in receiver.at("/admin-bc")]
    assert sids == [first_sid, second_sid]

    # A session already ended is not found again, and tells nobody twice.
    again = requests.delete(
        dev_server.admin_url + "/admin/oauth2/auth/sessions/login",
        params={"sid": first_sid},
        timeout=TIMEOUT,
    )
    assert again.status_code == 404
    assert len(receiver.at("/admin-bc")) == 2


def test_a_rejected_logout_tells_nobody(dev_server, make_client, receiver):
    client = make_client(backchannel_logout_uri=receiver.url("/rejected"))
    driver, _, tokens = logged_in(dev_server, client)
    challenge = logout_challenge_of(start_logout(driver, id_token_hint=tokens["id_token"]))
    response = requests.put(
        dev_server.admin_url + "/admin/oauth2/auth/requests/logout/reject",
        params={"logout_challenge": challenge},
        timeout=TIMEOUT,
    )
    assert response.status_code == 204
    time.sleep(1.5)  # a poll of the delivery queue: it holds nothing for this client
    assert receiver.at("/rejected") == []


def test_discovery_announces_both_channels(dev_server):
    metadata = requests.get(
        dev_server.public_url + "/.well-known/openid-configuration", timeout=TIMEOUT
    ).json()
    for name in (
        "backchannel_logout_supported",
        "backchannel_logout_session_supported",
        "frontchannel_logout_supported",
        "frontchannel_logout_session_supported",
    ):
        assert metadata[name] is True, name


# -- a crash with a delivery on the way -----------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def crash_database(request, tmp_path_factory):
    if request.param == "postgres" and _postgres_admin_dsn() is None:
        _skipped_postgres.append(request.node.nodeid)
        pytest.skip(f"PostgreSQL tests did not run: set {POSTGRES_ENV}")
    directory = tmp_path_factory.mktemp(f"logout-crash-{request.param}")
    database = migrated_database(request.param, directory, "authserver_logout_crash")
    yield database, directory
    if request.param == "postgres":
        drop_postgres_database(_postgres_admin_dsn(), database)


def test_a_delivery_pending_at_kill_9_is_sent_after_restart(crash_database, receiver):
    database, directory = crash_database
    env = {"SECRETS_SYSTEM": secrets.token_urlsafe(32)}
    server = start_server(database, directory, env=env, args=("--dev",))
    restarted = None
    try:
        hold = Behaviour(hold=threading.Event())
        response = requests.post(
            server.admin_url + "/admin/clients",
            json={
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "redirect_uris": ["http://127.0.0.1:9999/callback"],
                "post_logout_redirect_uris": [LOGGED_OUT],
                "scope": "openid offline_access",
                "backchannel_logout_uri": receiver.url("/crash", hold),
            },
            timeout=TIMEOUT,
        )
        assert response.status_code == 201, response.text
        client = response.json()
        driver, _, tokens = logged_in(server, client)
        assert log_out(driver, tokens).status_code == 302  # after the 3 s bound
        assert len(receiver.at("/crash")) == 1  # on its way, held by the client

        os.kill(server.process.pid, signal.SIGKILL)  # no goodbye: the delivery is in flight
        server.process.wait(10)
        hold.hold.set()  # the client answers from now on; the first answer goes nowhere

        restarted = start_server(database, directory, env=env, args=("--dev",))
        # The dead process's lease runs out (15 s), then the new one sends it.
        wait_for(lambda: len(receiver.at("/crash")) >= 2, timeout=40)
        _, claims = claims_of(restarted, receiver.at("/crash")[-1].logout_token)
        assert claims["sid"] == id_claims(tokens)["sid"]
        assert claims["aud"] == [client["client_id"]]
        wait_for(lambda: "back-channel logout delivered" in restarted.log(), timeout=20)
    finally:
        for process in (server, restarted):
            if process is not None:
                with contextlib.suppress(Exception):
                    process.stop()


# -- the CLI's flags, end to end ------------------------------------------------------------


def test_clients_made_with_the_cli_flags_are_told(dev_server, receiver):
    result = dev_server.cli(
        "create", "oauth2-client", "--format", "json",
        "--name", "CLI logout app",
        "--grant-type", "authorization_code", "--grant-type", "refresh_token",
        "--response-type", "code",
        "--scope", "openid", "--scope", "offline_access",
        "--redirect-uri", "http://127.0.0.1:9999/callback",
        "--post-logout-callback", LOGGED_OUT,
        "--backchannel-logout-callback", receiver.url("/cli-bc"),
        "--backchannel-logout-session-required",
        "--frontchannel-logout-callback", receiver.url("/cli-front"),
        "--frontchannel-logout-session-required",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    client = json.loads(result.stdout)
    try:
        assert client["backchannel_logout_uri"] == receiver.origin + "/cli-bc"
        assert client["backchannel_logout_session_required"] is True
        assert client["frontchannel_logout_uri"] == receiver.origin + "/cli-front"
        assert client["frontchannel_logout_session_required"] is True
        driver, _, tokens = logged_in(dev_server, client)
        page = log_out(driver, tokens)
        assert page.status_code == 200
        [frame] = frame_urls(page.text)
        assert parse_qs(urlsplit(frame).query)["sid"] == [id_claims(tokens)["sid"]]
        [received] = receiver.at("/cli-bc")
        assert claims_of(dev_server, received.logout_token)[1]["aud"] == [client["client_id"]]

        # update: the flags given change what is stored; an empty value removes the URI.
        result = dev_server.cli(
            "update", "oauth2-client", client["client_id"], "--format", "json",
            "--backchannel-logout-callback", receiver.url("/cli-bc-2"),
            "--frontchannel-logout-callback", "",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        updated = json.loads(result.stdout)
        assert updated["backchannel_logout_uri"] == receiver.origin + "/cli-bc-2"
        assert updated["frontchannel_logout_uri"] == ""
        assert updated["backchannel_logout_session_required"] is True  # kept
    finally:
        requests.delete(f"{dev_server.admin_url}/admin/clients/{client['client_id']}", timeout=10)


@pytest.mark.parametrize(
    "uri",
    [
        "ftp://127.0.0.1/logout",
        "http://127.0.0.1:5555/logout#fragment",
        "/relative/logout",
        "http://10.1.2.3/logout",  # a private address: refused outside --dev
        "http://rp.example/logout",  # plain http to a host that is not loopback
    ],
)
def test_the_cli_refuses_bad_logout_uris_in_one_line(server, uri):
    result = server.cli(
        "create", "oauth2-client", "--grant-type", "client_credentials",
        "--backchannel-logout-callback", uri,
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "backchannel_logout_uri" in line
