"""``private_key_jwt`` (RFC 7523 §2.2, OIDC Core §9): the setting and its key file, the
assertion the client signs, the registration document, and the inspector showing every
assertion decoded, against the fake server — and the private key on no page, in no log."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from demo_client.client_key import (
    ASSERTION_LIFETIME,
    ASSERTION_TYPE,
    ClientKey,
    generate_key,
    parse_key,
)
from demo_client.config import ConfigError, load_config
from demo_client.inspector import decode_assertion, short
from demo_client.logs import configure_logging
from demo_client.register import Registration, client_document, register_client
from demo_client.transport import Exchange
from tests.conftest import free_port
from tests.demo_client.fake_server import CLIENT_ID, ISSUER
from tests.demo_client.test_cli import run
from tests.demo_client.test_config_register import FakeAdmin
from tests.demo_client.test_device import poll, start

TOKEN_ENDPOINT = ISSUER.rstrip("/") + "/oauth2/token"  # as published: the assertion's aud
RSA = RSAKey.generate_key(2048, parameters={"kid": "demo-rsa-1"}, private=True)
EC = ECKey.generate_key("P-256", private=True)
KEY_ENV = {"DEMO_CLIENT_AUTH_METHOD": "private_key_jwt"}


def key_file(tmp_path, key=RSA, name="client-key.json") -> str:
    path = tmp_path / name
    if name.endswith(".pem"):
        path.write_bytes(key.as_pem(private=True))
    else:
        path.write_text(json.dumps(key.as_dict(private=True)))
    return str(path)


def private_values(key) -> list[str]:
    """Every private member of the key, as it would appear if it leaked."""
    private = key.as_dict(private=True)
    public = key.as_dict(private=False)
    pem = key.as_pem(private=True).decode()
    body = "".join(pem.splitlines()[1:-1])
    return [value for name, value in private.items() if name not in public] + [body[:40]]


@pytest.fixture
def key_browser(make_browser, fake, tmp_path):
    """The app with private_key_jwt and a key file; the fake knows its public key."""
    fake.client_jwks = {"keys": [{**RSA.as_dict(private=False), "kid": RSA.kid}]}
    return make_browser(
        DEMO_CLIENT_SECRET=None,
        DEMO_CLIENT_PRIVATE_KEY_FILE=key_file(tmp_path),
        **KEY_ENV,
    )


# -- the setting -------------------------------------------------------------------------


def test_the_default_is_unchanged():
    config = load_config({"DEMO_CLIENT_SECRET": "a-secret-0123456789"})
    assert config.client_key is None
    assert config.token_endpoint_auth_method == "client_secret_basic"
    explicit = load_config(
        {
            "DEMO_CLIENT_SECRET": "a-secret-0123456789",
            "DEMO_CLIENT_AUTH_METHOD": "client_secret_basic",
        }
    )
    assert explicit.client_key is None
    assert explicit.token_endpoint_auth_method == "client_secret_basic"
    assert load_config({}).token_endpoint_auth_method == "none"


def test_a_key_is_generated_for_register_and_kept_out_of_repr():
    config = load_config(KEY_ENV, register=True)
    key = config.client_key
    assert isinstance(key, ClientKey) and key.generated
    assert config.token_endpoint_auth_method == "private_key_jwt"
    assert (key.alg, key.kid) == ("RS256", key.key.thumbprint())  # RFC 7638
    assert key.key.is_private and key.key.raw_value.key_size == 2048
    for text in (repr(config), repr(key)):
        for value in private_values(key.key):
            assert value not in text
    assert load_config(KEY_ENV, register=True).client_key.kid != key.kid  # one per start


def test_a_key_file_jwk_or_pem(tmp_path):
    from_jwk = load_config({**KEY_ENV, "DEMO_CLIENT_PRIVATE_KEY_FILE": key_file(tmp_path)})
    assert (from_jwk.client_key.kid, from_jwk.client_key.alg) == ("demo-rsa-1", "RS256")
    assert from_jwk.client_key.generated is False
    pem = key_file(tmp_path, EC, "client-key.pem")
    from_pem = load_config({**KEY_ENV, "DEMO_CLIENT_PRIVATE_KEY_FILE": pem}, register=True)
    assert (from_pem.client_key.kid, from_pem.client_key.alg) == (EC.thumbprint(), "ES256")
    key_set = tmp_path / "set.json"
    key_set.write_text(json.dumps({"keys": [{**RSA.as_dict(private=True), "alg": "PS256"}]}))
    from_set = load_config({**KEY_ENV, "DEMO_CLIENT_PRIVATE_KEY_FILE": str(key_set)})
    assert from_set.client_key.alg == "PS256"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        (KEY_ENV, "--register"),  # no key file, and nobody would register a generated key
        ({**KEY_ENV, "DEMO_CLIENT_SECRET": "s3cret-s3cret-s3cret"}, "DEMO_CLIENT_SECRET"),
        ({"DEMO_CLIENT_AUTH_METHOD": "client_secret_jwt"}, "DEMO_CLIENT_AUTH_METHOD"),
        ({"DEMO_CLIENT_PRIVATE_KEY_FILE": "/x.pem"}, "only with"),
        ({**KEY_ENV, "DEMO_CLIENT_PRIVATE_KEY_FILE": "/no/such/key.pem"}, "cannot read"),
    ],
)
def test_bad_settings_are_one_line(env, fragment):
    with pytest.raises(ConfigError) as error:
        load_config(env)
    message = str(error.value)
    assert fragment in message and "\n" not in message
    assert "s3cret" not in message


def _pem(key) -> bytes:
    return key.as_pem(private=True)


_SHORT = rsa.generate_private_key(65537, 1024)  # noqa: S505 - the key that must be refused


def _short_rsa() -> bytes:
    return _SHORT.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _short_rsa_jwk() -> dict:
    numbers = _SHORT.private_numbers()

    def b64(number: int) -> str:
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    public = numbers.public_numbers
    return {"kty": "RSA", "n": b64(public.n), "e": b64(public.e), "d": b64(numbers.d)}


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (json.dumps(RSA.as_dict(private=False)).encode(), "public key"),
        (RSA.as_pem(private=False), "no private key"),
        (_short_rsa(), "too short"),
        (json.dumps(_short_rsa_jwk()).encode(), "too short"),
        (json.dumps(OctKey.generate_key(256).as_dict(private=True)).encode(), "RSA"),
        (_pem(OKPKey.generate_key("Ed25519", private=True)), "RSA"),
        (json.dumps({**EC.as_dict(private=True), "alg": "RS256"}).encode(), "does not fit"),
        (
            RSA.raw_value.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"passphrase"),
            ),
            "encrypted",
        ),
        (b"{not json", "not valid JSON"),
        (b"ssh-rsa AAAA", "neither"),
        (json.dumps({"keys": [RSA.as_dict(private=True)] * 2}).encode(), "exactly one"),
    ],
    ids=[
        "public-jwk",
        "public-pem",
        "short-rsa-pem",
        "short-rsa-jwk",
        "oct-jwk",
        "ed25519-pem",
        "alg-mismatch",
        "encrypted-pem",
        "bad-json",
        "ssh",
        "two-keys",
    ],
)
def test_unusable_key_files_say_why_without_quoting_them(data, fragment):
    with pytest.raises(ValueError) as error:
        parse_key(data, "key.pem")
    message = str(error.value)
    assert fragment in message and "\n" not in message
    for value in private_values(RSA) + ["AAAA"]:
        assert value not in message


# -- the assertion -----------------------------------------------------------------------


def test_the_assertion_is_signed_with_the_key_and_names_this_client_and_server():
    key = generate_key()
    first = key.sign_assertion(CLIENT_ID, TOKEN_ENDPOINT)
    second = key.sign_assertion(CLIENT_ID, TOKEN_ENDPOINT)
    public = RSAKey.import_key(key.public_jwk())
    assert not public.is_private
    token = jwt.decode(first, public, algorithms=["RS256"])
    assert token.header == {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
    claims = token.claims
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert claims["aud"] == TOKEN_ENDPOINT
    now = time.time()
    assert now - 5 <= claims["iat"] <= now + 1
    assert claims["exp"] - claims["iat"] == ASSERTION_LIFETIME <= 3600
    assert len(claims["jti"]) >= 32
    assert jwt.decode(second, public).claims["jti"] != claims["jti"]  # single-use ids
    with pytest.raises(BadSignatureError):
        jwt.decode(first, RSAKey.import_key(generate_key().public_jwk()))


def test_an_ec_key_signs_es256():
    key = parse_key(_pem(EC))
    token = jwt.decode(key.sign_assertion(CLIENT_ID, ISSUER), ECKey.import_key(key.public_jwk()))
    assert token.header["alg"] == "ES256" and token.claims["aud"] == ISSUER


def test_every_client_authentication_sends_a_fresh_assertion(key_browser):
    fake = key_browser.fake
    key_browser.login()
    key_browser.press("/refresh")
    key_browser.press("/revoke")
    start(key_browser)
    fake.device_polls = ["authorization_pending", "tokens"]
    assert poll(key_browser).get_json()["status"] == "authorization_pending"
    assert poll(key_browser).get_json()["status"] == "done"
    endpoints = [claims["_endpoint"].rsplit("/", 2)[-2:] for claims in fake.assertions]
    assert endpoints == [
        ["oauth2", "token"],  # code exchange
        ["oauth2", "token"],  # refresh
        ["oauth2", "revoke"],
        ["device", "auth"],
        ["oauth2", "token"],  # two device polls
        ["oauth2", "token"],
    ]
    assert all(
        claims["aud"] == TOKEN_ENDPOINT for claims in fake.assertions
    )  # not the back channel
    assert len({claims["jti"] for claims in fake.assertions}) == 6
    assert all(claims["_header"]["kid"] == "demo-rsa-1" for claims in fake.assertions)
    for body in fake.bodies:
        assert body["client_assertion_type"] == ASSERTION_TYPE
        assert "client_secret" not in body


def test_a_key_the_server_does_not_know_is_invalid_client(key_browser):
    key_browser.fake.client_jwks = {"keys": [generate_key().public_jwk()]}
    response = key_browser.callback(key_browser.fake.authorize(key_browser.start_login()))
    assert response.status_code == 400
    assert "invalid_client" in response.text and "DEMO_CLIENT_PRIVATE_KEY_FILE" in response.text


# -- registration ------------------------------------------------------------------------


def test_the_registration_sends_the_public_key_and_no_secret():
    admin = FakeAdmin()
    config = load_config(
        {"DEMO_CLIENT_ADMIN_URL": "http://admin.internal:4445", **KEY_ENV}, register=True
    )
    assert register_client(config, admin.session()) == Registration("created", "demo-client")
    stored = admin.clients["demo-client"]
    assert stored == client_document(config)
    assert "client_secret" not in stored
    assert stored["token_endpoint_auth_method"] == "private_key_jwt"
    assert stored["token_endpoint_auth_signing_alg"] == "RS256"
    (jwk,) = stored["jwks"]["keys"]
    key = config.client_key
    assert jwk == {**key.key.as_dict(private=False), "kid": key.kid, "alg": "RS256", "use": "sig"}
    assert not {"d", "p", "q", "dp", "dq", "qi"} & jwk.keys()
    assert "urn:ietf:params:oauth:grant-type:device_code" in stored["grant_types"]


# -- the inspector -----------------------------------------------------------------------


def assertion_rows(step_html: str) -> dict[str, str]:
    rows = re.findall(
        r'<tr data-assertion="([^"]+)">.*?<td><code>([^<]*)</code></td><td>([^<]*)</td>',
        step_html,
    )
    assert rows, "no decoded assertion"
    return {name: value for name, value, _meaning in rows} | {
        name + ":meaning": meaning for name, _value, meaning in rows
    }


def step_html(html: str, key: str, index: int = 0) -> str:
    return html.split(f'data-step="{key}"')[1 + index].split("</li>")[0]


def test_the_inspector_shows_each_assertion_decoded_never_whole(key_browser):
    key_browser.login()
    key_browser.press("/refresh")
    html = key_browser.get("/inspector").text
    sent = [body["client_assertion"] for body in key_browser.fake.bodies]
    token = step_html(html, "token-request")
    rows = assertion_rows(token)
    claims = key_browser.fake.assertions[0]
    assert rows["header.alg"] == "RS256" and rows["header.kid"] == "demo-rsa-1"
    assert rows["claims.iss"] == rows["claims.sub"] == CLIENT_ID
    assert rows["claims.aud"] == TOKEN_ENDPOINT
    assert rows["claims.jti"] == claims["jti"]
    assert rows["claims.iat"].startswith(f"{claims['iat']} (") and "UTC" in rows["claims.iat"]
    assert rows["claims.exp"].endswith(f"{ASSERTION_LIFETIME} s after iat")
    signature = sent[0].rsplit(".", 1)[1]
    assert rows["signature.signature"] == short(signature)
    assert "replayed" in rows["claims.jti:meaning"]
    assert "token endpoint" in rows["claims.aud:meaning"]
    assert "private key" in rows["signature.signature:meaning"]
    assert "records the jti until exp" in token
    assert "private_key_jwt: client_assertion in the body" in token
    assert f"<code>{short(sent[0])}</code>" in token  # the parameter, shortened
    assert "Authorization: Basic" not in token
    refresh = assertion_rows(step_html(html, "refresh"))
    assert refresh["claims.jti"] == key_browser.fake.assertions[1]["jti"] != claims["jti"]
    for assertion in sent:
        assert assertion not in html
        assert assertion.rsplit(".", 1)[1] not in html
        assert assertion.split(".")[1] not in html  # nor the encoded claims


def test_the_device_steps_show_the_assertion_too(key_browser):
    start(key_browser)
    key_browser.fake.device_polls = ["tokens"]
    poll(key_browser)
    html = key_browser.get("/inspector").text
    for key in ("device-authorization", "device-poll"):
        rows = assertion_rows(step_html(html, key))
        assert rows["claims.iss"] == CLIENT_ID and rows["header.alg"] == "RS256"


def test_a_secret_client_shows_no_assertion(browser):
    browser.login()
    html = browser.get("/inspector").text
    assert "data-assertion=" not in html and "Client assertion" not in html


def test_a_garbled_assertion_is_said_so_not_shown():
    exchange = Exchange("POST", TOKEN_ENDPOINT, 0.0, params=[("client_assertion", "abc.def")])
    decoded = decode_assertion(exchange)
    assert decoded.problem and decoded.rows == []
    assert decode_assertion(Exchange("POST", TOKEN_ENDPOINT, 0.0)) is None


def test_the_private_key_is_on_no_page_and_in_no_log(key_browser, tmp_path):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging(logging.DEBUG, stream)
    try:
        pages = [key_browser.get("/").text, key_browser.login().text]
        key_browser.press("/refresh")
        key_browser.press("/revoke")
        pages += [key_browser.get("/").text, key_browser.get("/inspector").text]
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    home = pages[0]
    assert "private_key_jwt" in home and "demo-rsa-1" in home
    for text in [*pages, stream.getvalue()]:
        for value in private_values(RSA):
            assert value not in text


def test_the_command_refuses_a_key_nobody_would_register_in_one_line():
    result = run("--port", str(free_port()), env=KEY_ENV)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "DEMO_CLIENT_PRIVATE_KEY_FILE" in result.stderr and "--register" in result.stderr
