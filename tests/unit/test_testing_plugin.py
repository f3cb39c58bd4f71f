"""The pytest plugin ``authserver.testing``: its fixtures, run in child pytest sessions
(pytester), and its ``Harness`` client, against one harness shared by this module."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from authserver.harness.server import HarnessServer
from authserver.testing import Harness, HarnessError

pytest_plugins = ("pytester",)

CONFIG = """\
users:
  alice: {email: alice@example.com}
clients:
  - client_id: configured
    client_secret: configured-secret-0123456789abcdef
    grant_types: [authorization_code, refresh_token]
    response_types: [code]
    redirect_uris: ["http://127.0.0.1:5555/callback"]
    scope: openid offline
"""

# A child test that checks the configuration file was loaded, and the token format.
CONFIGURED_TEST = """\
import requests

def test_configured(authserver):
    assert requests.get(authserver.admin_url + "/admin/clients/configured").status_code == 200
    token = authserver.issue_token("configured", "alice", scope="openid")["access_token"]
    print("ACCESS_TOKEN_PARTS", len(token.split(".")))
"""


@pytest.fixture
def child(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A child pytest session of its own: its own minimal ini (not this repo's), run in a
    subprocess (an in-process run unloads the modules it imported, and cryptography's
    compiled core does not survive being imported twice), with only the plugins it names
    (autoloading every installed one costs seconds)."""
    pytester.makeini("[pytest]\n")
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    # Nor what this session's environment says (an xdist worker's, a running harness's).
    for name in ("PYTEST_ADDOPTS", "AUTHSERVER_HARNESS_PUBLIC_URL", "AUTHSERVER_HARNESS_ADMIN_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in [name for name in os.environ if name.startswith("PYTEST_XDIST_")]:
        monkeypatch.delenv(name)
    return pytester


def run(child: pytest.Pytester, *args: str) -> pytest.RunResult:
    return child.runpytest_subprocess("-p", "authserver.testing", *args, timeout=120)


@pytest.fixture(scope="module")
def running() -> Iterator[HarnessServer]:
    """One harness for this module: the client's tests and the "running harness" option."""
    server = HarnessServer.from_file(None, public_port=0, admin_port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def harness(running: HarnessServer) -> Iterator[Harness]:
    client = Harness(running.public_url, running.admin_url, issuer=running.issuer)
    yield client
    client.reset()
    client.close()


# -- the plugin ---------------------------------------------------------------------------


def test_importing_the_plugin_loads_nothing_heavy():
    """pytest imports the plugin in every session of whoever installs authserver."""
    heavy = ["requests", "flask", "sqlalchemy", "authlib", "authserver.harness"]
    code = f"import sys, authserver.testing; print([m for m in {heavy!r} if m in sys.modules])"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert output.strip() == "[]"


def test_the_fixtures_start_a_harness_and_reset_it_after_each_test(child: pytest.Pytester):
    child.makepyfile(
        """
        import requests

        FIRST = {}

        def test_first(authserver, authserver_harness):
            assert authserver is authserver_harness
            assert authserver.discovery()["issuer"] == authserver.issuer
            assert authserver.issuer == authserver.public_url + "/"
            authserver.create_client(
                client_id="made", client_secret="made-secret-0123456789abcdef", scope="openid"
            )
            authserver.set_user("bob", email="bob@example.com")
            FIRST["token"] = authserver.issue_token("made", "bob", scope="openid")["access_token"]
            authserver.next_login("bob")
            FIRST["admin"] = authserver.admin_url

        def test_second(authserver):
            admin = authserver.admin_url
            assert admin == FIRST["admin"]  # the same harness, reset
            assert requests.get(admin + "/admin/harness/users").json() == []
            assert requests.get(admin + "/admin/harness/decisions").json() == []
            assert requests.get(admin + "/admin/clients/made").status_code == 404
            token = {"token": FIRST["token"]}
            answer = requests.post(admin + "/admin/oauth2/introspect", data=token)
            assert answer.json()["active"] is False
        """
    )
    run(child).assert_outcomes(passed=2)


def test_the_ini_key_loads_a_config_file_relative_to_the_rootdir(
    child: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    child.makeini("[pytest]\nauthserver_config = conf/harness.yaml\n")
    child.mkdir("conf").joinpath("harness.yaml").write_text(CONFIG)
    tests = child.mkdir("tests")
    tests.joinpath("test_configured.py").write_text(CONFIGURED_TEST)
    monkeypatch.chdir(tests)  # the rootdir, not the working directory, anchors the path
    result = run(child, "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ACCESS_TOKEN_PARTS [12]*"])  # opaque: not a JWT


def test_the_option_loads_a_config_file_and_jwt_gives_jwt_access_tokens(child: pytest.Pytester):
    child.makefile(".yaml", harness=CONFIG)
    child.makepyfile(test_configured=CONFIGURED_TEST)
    result = run(
        child, "-s", "--authserver-config", "harness.yaml", "--authserver-token-strategy", "jwt"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ACCESS_TOKEN_PARTS 3*"])


def test_a_bad_config_file_fails_the_fixture_with_its_problem(child: pytest.Pytester):
    child.makefile(".yaml", harness="colour: blue\nusers: [alice]\n")
    child.makepyfile(
        """
        def test_one(authserver):
            pass

        def test_two(authserver):
            pass
        """
    )
    started = time.monotonic()
    result = run(child, "--authserver-config", "harness.yaml")
    assert time.monotonic() - started < 30
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*unknown setting 'colour'*", "*users: must be a mapping*"])


def test_each_xdist_worker_gets_its_own_harness(child: pytest.Pytester):
    child.makepyfile(
        """
        import os

        def _record(authserver):
            assert authserver.discovery()["issuer"] == authserver.issuer
            worker = os.environ["PYTEST_XDIST_WORKER"]
            with open(worker + ".url", "w") as file:
                file.write(authserver.admin_url)

        def test_one(authserver):
            _record(authserver)

        def test_two(authserver):
            _record(authserver)
        """
    )
    # Two tests on two workers: xdist hands them out one each.
    result = run(child, "-p", "xdist.plugin", "-n", "2")
    result.assert_outcomes(passed=2)
    urls = {path.name: path.read_text() for path in child.path.glob("*.url")}
    assert len(urls) == 2 and len(set(urls.values())) == 2, urls


@pytest.mark.parametrize("given_by", ["options", "environment"])
def test_a_running_harness_is_used_and_reset(
    child: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, harness: Harness, given_by: str
):
    harness.set_user("left-over")
    child.makepyfile(
        f"""
        import requests

        def test_it(authserver):
            assert authserver.admin_url == {harness.admin_url!r}
            assert authserver.issuer == {harness.issuer!r}
            # reset at the session's start: what an earlier session left is gone
            assert requests.get(authserver.admin_url + "/admin/harness/users").json() == []
            authserver.set_user("made-by-the-test")
        """
    )
    if given_by == "options":
        args = ["--authserver-public-url", harness.public_url]
        args += ["--authserver-admin-url", harness.admin_url]
    else:
        monkeypatch.setenv("AUTHSERVER_HARNESS_PUBLIC_URL", harness.public_url)
        monkeypatch.setenv("AUTHSERVER_HARNESS_ADMIN_URL", harness.admin_url)
        args = []
    run(child, *args).assert_outcomes(passed=1)
    assert requests.get(harness.admin_url + "/admin/harness/users").json() == []


def test_half_a_running_harness_is_a_clear_error(child: pytest.Pytester):
    child.makepyfile("def test_it(authserver):\n    pass\n")
    result = run(child, "--authserver-admin-url", "http://127.0.0.1:1")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*give both its public URL and its admin URL*"])


# -- the Harness client -------------------------------------------------------------------


def test_discovery_and_jwks(harness: Harness):
    assert harness.discovery()["jwks_uri"].startswith(harness.public_url)
    assert harness.jwks()["keys"]


def test_decisions_are_queued_in_order(harness: Harness):
    harness.set_user("alice")
    harness.create_client(client_id="web", client_secret="web-secret-0123456789abcdef")
    accepted = harness.next_login("alice", claims={"email": "a@example.com"}, scopes=["openid"])
    denied = harness.deny_next(description="no thanks", client_id="web")
    assert accepted["subject"] == "alice"
    assert denied["error"] == "access_denied"
    queued = requests.get(harness.admin_url + "/admin/harness/decisions").json()
    assert [d.get("subject") for d in queued] == ["alice", None]


def test_set_user_and_issue_token(harness: Harness):
    assert harness.set_user("carol", email="carol@example.com") == {
        "subject": "carol",
        "claims": {"email": "carol@example.com"},
    }
    harness.create_client(
        client_id="api",
        client_secret="api-secret-0123456789abcdef",
        grant_types=["authorization_code", "refresh_token"],  # refresh tokens need it
        scope="openid offline",
    )
    tokens = harness.issue_token(
        "api", "carol", scope=["openid", "offline"], expires_in=datetime.timedelta(minutes=5)
    )
    assert tokens["expires_in"] <= 300
    assert {"access_token", "refresh_token", "id_token"} <= set(tokens)


def test_the_request_log(harness: Harness):
    requests.get(harness.public_url + "/oauth2/auth", params={"client_id": "someone"})
    assert [entry["path"] for entry in harness.requests_for("someone")] == ["/oauth2/auth"]
    assert harness.requests_for("nobody") == []
    harness.clear_requests()
    assert harness.requests == []


def test_the_clock(harness: Harness):
    frozen = harness.clock.freeze()
    assert frozen["frozen"] is True
    harness.clock.advance(datetime.timedelta(hours=1))
    harness.clock.advance("1m30s")
    state = harness.clock.advance(30)
    assert state["offset"] == pytest.approx(3600 + 120, abs=1)
    assert harness.clock.now() == state["now"]
    assert harness.clock.unfreeze()["frozen"] is False
    assert harness.clock.reset()["offset"] == 0
    with pytest.raises(TypeError):
        harness.clock.advance(True)


def test_a_failing_call_raises_harness_error(harness: Harness):
    with pytest.raises(HarnessError) as raised:
        harness.issue_token("no-such-client", "alice")
    error = raised.value
    assert (error.status, error.error) == (400, "invalid_client")
    assert "POST" in str(error) and "/admin/harness/tokens" in str(error)
    assert error.description and "client_id" in error.description


def test_an_unreachable_harness_raises_harness_error():
    client = Harness("http://127.0.0.1:1", "http://127.0.0.1:1", timeout=5)
    with pytest.raises(HarnessError) as raised:
        client.reset()
    assert raised.value.status is None
    assert raised.value.error == "unreachable"


def _authorization_url(harness: Harness, **extra) -> str:
    from urllib.parse import urlencode

    params = {
        "response_type": "code",
        "client_id": "web",
        "redirect_uri": "http://127.0.0.1:9/callback",
        "scope": "openid",
        "state": "s" * 12,
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{harness.public_url}/oauth2/auth?{urlencode(params)}"


def test_follow_runs_a_login_without_a_browser(harness: Harness):
    harness.set_user("alice", email="a@example.com")
    harness.create_client(
        client_id="web",
        client_secret="web-secret-0123456789abcdef",
        redirect_uris=["http://127.0.0.1:9/callback"],
        scope="openid",
    )
    harness.next_login("alice")
    landed = harness.follow(_authorization_url(harness))
    assert landed.startswith("http://127.0.0.1:9/callback?code=")
    harness.deny_next("temporarily_unavailable")
    refused = harness.follow(_authorization_url(harness))
    assert "error=temporarily_unavailable" in refused and "code=" not in refused
    # No decision, no default user: login_required, at the client.
    assert "error=login_required" in harness.follow(_authorization_url(harness))


def test_follow_keeps_a_browser_s_cookies(harness: Harness):
    harness.set_user("alice")
    harness.create_client(
        client_id="web",
        client_secret="web-secret-0123456789abcdef",
        redirect_uris=["http://127.0.0.1:9/callback"],
        scope="openid",
    )
    browser = requests.Session()
    harness.next_login("alice", remember=True)
    assert "code=" in harness.follow(_authorization_url(harness), browser)
    # Remembered: prompt=none succeeds in that browser with nothing queued...
    assert "code=" in harness.follow(_authorization_url(harness, prompt="none"), browser)
    # ...and not in another.
    assert "error=login_required" in harness.follow(_authorization_url(harness, prompt="none"))


def test_follow_approves_a_device(harness: Harness):
    harness.set_user("alice")
    harness.create_client(
        client_id="tv",
        token_endpoint_auth_method="none",
        grant_types=["urn:ietf:params:oauth:grant-type:device_code"],
        scope="openid",
    )
    device = requests.post(
        harness.public_url + "/oauth2/device/auth", data={"client_id": "tv", "scope": "openid"}
    ).json()
    harness.next_login("alice")
    done = harness.follow(device["verification_uri_complete"])
    assert done.startswith(harness.public_url + "/harness/device/done")
    tokens = requests.post(
        harness.public_url + "/oauth2/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": device["device_code"],
            "client_id": "tv",
        },
    )
    assert tokens.status_code == 200 and "id_token" in tokens.json()


def test_follow_reports_an_error_page(harness: Harness):
    with pytest.raises(HarnessError) as raised:
        harness.follow(harness.public_url + "/harness/login?login_challenge=unknown")
    assert raised.value.status == 404
