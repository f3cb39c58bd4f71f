"""Settings from the environment, and ``--register`` against a fake admin API."""

from __future__ import annotations

import pytest
import requests

from demo_client.config import ConfigError, load_config
from demo_client.register import (
    Registration,
    RegistrationError,
    client_document,
    register_client,
)
from tests.demo_client.fake_server import FakeTransport


def test_defaults():
    config = load_config({"DEMO_CLIENT_SECRET_KEY": "k"})
    assert (config.host, config.port) == ("127.0.0.1", 4446)
    assert config.issuer == config.backchannel_url == "http://127.0.0.1:4444/"
    assert config.admin_url == ""
    assert config.client_id == "demo-client"
    assert config.redirect_uri == "http://127.0.0.1:4446/callback"
    assert config.post_logout_redirect_uri == "http://127.0.0.1:4446/logged-out"
    assert config.scope == "openid offline_access profile email"
    assert config.register is False
    assert config.token_endpoint_auth_method == "none"
    assert (config.client_id_given, config.overwrite) == (False, False)
    named = load_config({"DEMO_CLIENT_ID": " mine ", "DEMO_CLIENT_OVERWRITE": "yes"})
    assert (named.client_id, named.client_id_given, named.overwrite) == ("mine", True, True)


def test_the_port_moves_the_redirect_uri_and_a_random_secret_key_is_made():
    first = load_config({"PORT": "5000"})
    assert first.redirect_uri == "http://127.0.0.1:5000/callback"
    assert first.post_logout_redirect_uri == "http://127.0.0.1:5000/logged-out"
    assert load_config({}, port=6000).redirect_uri == "http://127.0.0.1:6000/callback"
    assert first.secret_key and first.secret_key != load_config({}).secret_key


def test_register_flag_twin():
    assert load_config({"DEMO_CLIENT_REGISTER": "true"}).register is True
    assert load_config({"DEMO_CLIENT_REGISTER": "false"}, register=True).register is True
    with pytest.raises(ConfigError):
        load_config({"DEMO_CLIENT_REGISTER": "maybe"})


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"PORT": "http"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"DEMO_CLIENT_ISSUER": "ftp://x"}, "DEMO_CLIENT_ISSUER"),
        ({"DEMO_CLIENT_BACKCHANNEL_URL": "authserver:4444"}, "DEMO_CLIENT_BACKCHANNEL_URL"),
        ({"DEMO_CLIENT_SCOPE": "  "}, "DEMO_CLIENT_SCOPE"),
    ],
)
def test_bad_settings_are_one_line_errors(env, fragment):
    with pytest.raises(ConfigError) as error:
        load_config(env)
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)


# -- registration ------------------------------------------------------------------------


class FakeAdmin:
    """Just enough of /admin/clients: GET, POST (201 / 409), PUT."""

    def __init__(self):
        from flask import Flask, jsonify, request

        self.clients: dict[str, dict] = {}
        self.calls: list[str] = []
        self.reachable = {"http://admin.internal:4445"}
        self.requests: list = []
        app = Flask("fake_admin")

        @app.get("/admin/clients/<client_id>")
        def get(client_id):
            self.calls.append("GET")
            if client_id not in self.clients:
                return jsonify(error="not_found"), 404
            return jsonify(self.clients[client_id])

        @app.post("/admin/clients")
        def post():
            self.calls.append("POST")
            body = request.get_json()
            if body["client_id"] in self.clients:
                return jsonify(error="conflict"), 409
            self.clients[body["client_id"]] = body
            return jsonify(body), 201

        @app.put("/admin/clients/<client_id>")
        def put(client_id):
            self.calls.append("PUT")
            body = request.get_json()
            if body.get("redirect_uris") == ["bad"]:
                return jsonify(error="invalid_redirect_uri", error_description="No."), 400
            self.clients[client_id] = body
            return jsonify(body)

        self.app = app

    def session(self) -> requests.Session:
        session = requests.Session()
        session.mount("http://", FakeTransport(self))
        return session


def _registering_env() -> dict:
    return {
        "DEMO_CLIENT_ADMIN_URL": "http://admin.internal:4445",
        "DEMO_CLIENT_SECRET": "first-secret-0123456789",
    }


def registering(**env) -> object:
    return load_config({**_registering_env(), **env}, register=True)


def test_register_creates_then_updates():
    admin = FakeAdmin()
    config = registering()
    assert register_client(config, admin.session()) == Registration("created", "demo-client")
    assert admin.calls == ["GET", "POST"]
    stored = admin.clients["demo-client"]
    assert stored == client_document(config)
    assert stored["grant_types"] == [
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:token-exchange",  # "Exchange the access token"
    ]
    assert stored["audience"] == ["https://downstream.example/"]
    assert stored["response_types"] == ["code"]
    assert stored["redirect_uris"] == ["http://127.0.0.1:4446/callback"]
    assert stored["post_logout_redirect_uris"] == ["http://127.0.0.1:4446/logged-out"]
    assert stored["token_endpoint_auth_method"] == "client_secret_basic"
    assert stored["client_name"] == "Demo client"
    assert stored["scope"] == "openid offline_access profile email"

    second = registering(DEMO_CLIENT_SECRET="second-secret-0123456789")
    assert register_client(second, admin.session()) == Registration("updated", "demo-client")
    assert admin.calls == ["GET", "POST", "GET", "PUT"]
    assert admin.clients["demo-client"]["client_secret"] == "second-secret-0123456789"


def test_register_retries_while_the_admin_api_starts_then_fails_in_one_line():
    admin = FakeAdmin()
    admin.reachable = set()
    naps: list[float] = []

    def nap(seconds):
        naps.append(seconds)
        if len(naps) == 2:
            admin.reachable = {"http://admin.internal:4445"}

    registration = register_client(registering(), admin.session(), retry_seconds=60, sleep=nap)
    assert registration.outcome == "created"
    assert len(naps) == 2

    admin.reachable = set()
    with pytest.raises(RegistrationError) as error:
        register_client(registering(), admin.session(), retry_seconds=0, sleep=lambda _: None)
    message = str(error.value)
    assert "http://admin.internal:4445/admin/clients" in message
    assert "not reachable" in message and "\n" not in message


def test_register_reports_a_refusal():
    admin = FakeAdmin()
    register_client(registering(), admin.session())
    bad = registering(DEMO_CLIENT_OVERWRITE="true")
    object.__setattr__(bad, "redirect_uri", "bad")
    with pytest.raises(RegistrationError) as error:
        register_client(bad, admin.session())
    assert "invalid_redirect_uri: No." in str(error.value)
    assert "HTTP 400" in str(error.value)


def test_register_needs_an_admin_url():
    with pytest.raises(RegistrationError, match="DEMO_CLIENT_ADMIN_URL"):
        register_client(load_config({"DEMO_CLIENT_SECRET": "s" * 20}))


def test_the_wait_for_the_admin_api_is_said_once_then_every_few_seconds():
    admin = FakeAdmin()
    admin.reachable = set()
    now = [0.0]
    lines: list[str] = []

    def nap(seconds):
        now[0] += seconds
        if now[0] >= 12:
            admin.reachable = {"http://admin.internal:4445"}

    registration = register_client(
        registering(), admin.session(), sleep=nap, say=lines.append, clock=lambda: now[0]
    )
    assert registration.outcome == "created"
    assert "http://admin.internal:4445" in lines[0]
    assert 2 <= len(lines) <= 4  # not one line per attempt (12 attempts)
    assert all("\n" not in line for line in lines)


def test_a_second_demo_client_gets_its_own_id_and_leaves_the_first_alone():
    admin = FakeAdmin()
    first = registering(DEMO_CLIENT_REDIRECT_URI="http://127.0.0.1:9010/callback")
    register_client(first, admin.session())
    before = dict(admin.clients["demo-client"])

    second = registering(DEMO_CLIENT_SECRET="second-secret-0123456789")
    registration = register_client(second, admin.session())
    assert registration == Registration("created", "demo-client-4446")
    assert admin.clients["demo-client"] == before
    assert admin.clients["demo-client-4446"]["redirect_uris"] == [second.redirect_uri]

    again = register_client(second, admin.session())  # a restart: the same id again
    assert again == Registration("updated", "demo-client-4446")
    assert admin.clients["demo-client"] == before


def test_a_named_id_held_for_other_redirect_uris_is_one_line_unless_overwrite():
    admin = FakeAdmin()
    register_client(registering(DEMO_CLIENT_ID="shared"), admin.session())
    before = dict(admin.clients["shared"])
    other = registering(DEMO_CLIENT_ID="shared", DEMO_CLIENT_REDIRECT_URI="http://h:5/callback")
    with pytest.raises(RegistrationError) as error:
        register_client(other, admin.session())
    message = str(error.value)
    assert "\n" not in message
    assert "shared" in message and "--overwrite" in message and "DEMO_CLIENT_ID" in message
    assert admin.clients["shared"] == before
    assert "PUT" not in admin.calls

    overwrite = load_config(
        {
            **_registering_env(),
            "DEMO_CLIENT_ID": "shared",
            "DEMO_CLIENT_REDIRECT_URI": "http://h:5/callback",
        },
        register=True,
        overwrite=True,
    )
    assert register_client(overwrite, admin.session()) == Registration("updated", "shared")
    assert admin.clients["shared"]["redirect_uris"] == ["http://h:5/callback"]


def test_overwrite_without_an_id_replaces_demo_client():
    admin = FakeAdmin()
    register_client(registering(DEMO_CLIENT_REDIRECT_URI="http://h:5/callback"), admin.session())
    config = registering(DEMO_CLIENT_OVERWRITE="true")
    assert config.overwrite is True
    assert register_client(config, admin.session()) == Registration("updated", "demo-client")
    assert admin.clients["demo-client"]["redirect_uris"] == [config.redirect_uri]
    assert "demo-client-4446" not in admin.clients


def test_when_both_default_ids_are_taken_it_fails_in_one_line():
    admin = FakeAdmin()
    for uri in ("http://h:1/callback", "http://h:2/callback"):
        document = client_document(registering(DEMO_CLIENT_REDIRECT_URI=uri))
        admin.clients[{"http://h:1/callback": "demo-client"}.get(uri, "demo-client-4446")] = (
            document
        )
    with pytest.raises(RegistrationError) as error:
        register_client(registering(), admin.session())
    message = str(error.value)
    assert "demo-client-4446" in message and "http://h:2/callback" in message
    assert "\n" not in message


def test_odd_redirect_uris_from_the_admin_api_stay_on_one_line():
    admin = FakeAdmin()
    admin.clients["x"] = {"client_id": "x", "redirect_uris": ["http://h/\r\nforged"]}
    with pytest.raises(RegistrationError) as error:
        register_client(registering(DEMO_CLIENT_ID="x"), admin.session())
    assert "\n" not in str(error.value) and "\r" not in str(error.value)
