"""Log redaction: token, JWT and secret shapes never reach the log output."""

from __future__ import annotations

import json
import logging

import pytest

from authserver.web.logs import configure_logging, redact, request_id_var

ACCESS_TOKEN = (
    "ory_at_BJ0UPPc8RfOhmfgKtl8M1vPGwgidzGxxCUDJlqXxP-A.a6dqPeZ63fUEU2s-LmfbwxW11PTV6HNzqkdMwv1oxeM"
)
REFRESH_TOKEN = (
    "ory_rt_k2Yq0m3hZ7_b1xPZb8WJ9uV0f1v2cQy3dLr4sTe5gH6.Zx9yW8vU7tS6rQ5pO4nM3lK2jI1hG0fE9dC8bA7_-0A"
)
AUTH_CODE = (
    "ory_ac_Qm9ndXNfY29kZV9mb3JfdGVzdGluZ19wdXJwb3NlczE.c2lnbmF0dXJlX2Zvcl90ZXN0aW5nX3B1cnBvc2VzMTI"
)
JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImtleS0xIn0"
    ".eyJzdWIiOiJ1c2VyLTEiLCJhdWQiOiJteS1jbGllbnQifQ"
    ".c2lnbmF0dXJlLWJ5dGVzLWdvLWhlcmUtYW5kLW1vcmU"
)


def _parts(token: str) -> list[str]:
    """The secret parts of a token that must not survive redaction."""
    if token.startswith("ory_"):
        random_part, signature = token[len("ory_at_") :].split(".")
        return [random_part, signature]
    return token.split(".")[1:]  # a JWT's payload and signature


@pytest.mark.parametrize("token", [ACCESS_TOKEN, REFRESH_TOKEN, AUTH_CODE, JWT])
@pytest.mark.parametrize(
    "template",
    [
        "{}",
        "issued {}",
        "Authorization: Bearer {}",
        "token {} revoked",
        '{{"access_token": "{}"}}',
        "a={},b",
    ],
)
def test_tokens_are_masked(token, template):
    text = template.format(token)
    cleaned = redact(text)
    assert token not in cleaned
    for part in _parts(token):
        assert part not in cleaned
    assert "[redacted]" in cleaned
    # The text around the token is kept.
    before, _, after = template.partition("{}")
    before, after = before.replace("{{", "{"), after.replace("}}", "}")
    assert cleaned.startswith(before)
    assert cleaned.endswith(after)


@pytest.mark.parametrize("token", [ACCESS_TOKEN, REFRESH_TOKEN, AUTH_CODE])
def test_opaque_token_kind_stays_visible(token):
    assert redact(token).startswith(token[:7])


def test_token_without_signature_part_is_masked():
    partial = ACCESS_TOKEN.split(".")[0]
    cleaned = redact(f"got {partial}")
    assert partial[len("ory_at_") :] not in cleaned


def test_several_tokens_in_one_message():
    cleaned = redact(f"exchanged {AUTH_CODE} for {ACCESS_TOKEN} and {REFRESH_TOKEN}, id {JWT}")
    for token in (AUTH_CODE, ACCESS_TOKEN, REFRESH_TOKEN, JWT):
        for part in _parts(token):
            assert part not in cleaned
    assert cleaned.count("[redacted]") == 4
    assert cleaned.startswith("exchanged ")


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        ("POST /oauth2/token?client_secret=hunter2", "hunter2", "/oauth2/token?client_secret="),
        ("grant_type=client_credentials&client_secret=hunter2&scope=x", "hunter2", "&scope=x"),
        ("body: grant_type=password&password=pa55w0rd", "pa55w0rd", "grant_type=password&"),
        ("login attempt password=pa55w0rd ok", "pa55w0rd", " ok"),
        ("GET /callback?code=Zm9vYmFy&state=xyz", "Zm9vYmFy", "&state=xyz"),
        ("GET /callback?state=xyz&code=Zm9vYmFy", "Zm9vYmFy", "?state=xyz&code="),
        ("form a=1;code=Zm9vYmFy", "Zm9vYmFy", "a=1;code="),
        ("grant_type=refresh_token&refresh_token=opaque-value", "opaque-value", "grant_type="),
        ("POST /introspect token=opaque-value", "opaque-value", "/introspect token="),
        ("GET /cb?access_token=opaque-value", "opaque-value", "/cb?access_token="),
        ("client_secret=hunter2&grant_type=client_credentials", "hunter2", "&grant_type="),
        ("password=pw1234&username=u", "pw1234", "&username=u"),
        ("code=abc123&state=x", "abc123", "&state=x"),
        ("b'client_secret=abc123'", "abc123", "b'client_secret="),
        ("registration_access_token=r3g1str&x=1", "r3g1str", "&x=1"),
        ("grant_type=jwt&assertion=not.a.jwt.yet", "not.a.jwt.yet", "assertion="),
        ("client_assertion=abc.def.ghi", "abc.def.ghi", "client_assertion="),
        ("subject_token=opaque-subject&x=1", "opaque-subject", "&x=1"),
        ("actor_token=opaque-actor&x=1", "opaque-actor", "&x=1"),
        ("GET /oauth2/auth?request_uri=urn:ietf:x:ref123&client_id=c", "ref123", "&client_id=c"),
        ('{"form": "(client_secret=abc123)"}', "abc123", '{"form": "(client_secret='),
    ],
)
def test_secret_pairs_are_masked(text, secret, kept):
    cleaned = redact(text)
    assert secret not in cleaned
    assert kept in cleaned
    assert "=[redacted]" in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello world",
        "GET /health/alive 200 1.2ms",
        "client my-client created with grant types client_credentials",
        "error_code=5 in module x",  # 'code=' must start a pair, not end a longer name
        "ory_xx_notatoken.here",
        "eyJshort.a.b",
        "state=xyz&nonce=abc&scope=openid",
        "user@example.com logged in from 127.0.0.1",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


# -- configured logging ----------------------------------------------------------------


@pytest.fixture
def restore_logging():
    """configure_logging rewires the root logger; put everything back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    others = {name: logging.getLogger(name).level for name in ("waitress.queue", "alembic")}
    request_token = request_id_var.set("-")
    yield
    request_id_var.reset(request_token)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, other_level in others.items():
        logging.getLogger(name).setLevel(other_level)


LOGGER = "authserver.tests.redaction"


def test_text_format_redacts(capsys, restore_logging):
    configure_logging("info", "text")
    request_id_var.set("req-text-1")
    logging.getLogger(LOGGER).info("issued %s to client %s", ACCESS_TOKEN, "my-client")
    logging.getLogger(LOGGER).warning(f"bad request client_secret={'x' * 3}&{JWT}")
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 2
    for part in _parts(ACCESS_TOKEN) + _parts(JWT):
        assert part not in err
    assert "xxx" not in err
    assert "ory_at_[redacted]" in lines[0]
    assert "to client my-client" in lines[0]  # the arguments are still formatted in
    assert "[req-text-1]" in lines[0]
    assert LOGGER in lines[0]
    assert "INFO" in lines[0] and "WARNING" in lines[1]


def test_json_format_redacts_and_parses(capsys, restore_logging):
    configure_logging("debug", "json")
    request_id_var.set("req-json-1")
    logger = logging.getLogger(LOGGER)
    logger.debug("refresh %s", REFRESH_TOKEN)
    logger.info("callback ?code=Zm9vYmFy&state=s")
    err = capsys.readouterr().err
    for part in _parts(REFRESH_TOKEN):
        assert part not in err
    assert "Zm9vYmFy" not in err
    entries = [json.loads(line) for line in err.strip().splitlines()]
    assert len(entries) == 2
    for entry in entries:
        assert entry["request_id"] == "req-json-1"
        assert entry["logger"] == LOGGER
        assert "[redacted]" in entry["msg"]
    assert [entry["level"] for entry in entries] == ["debug", "info"]
    assert entries[0]["msg"].startswith("refresh ory_rt_")
    assert entries[1]["msg"].endswith("&state=s")


def test_json_request_id_defaults_to_dash(capsys, restore_logging):
    configure_logging("info", "json")
    logging.getLogger(LOGGER).info("no request here")
    entry = json.loads(capsys.readouterr().err)
    assert entry["request_id"] == "-"
    assert entry["msg"] == "no request here"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_exception_text_is_redacted(capsys, restore_logging, fmt):
    configure_logging("info", fmt)
    try:
        raise ValueError(f"cannot use {ACCESS_TOKEN}")
    except ValueError:
        logging.getLogger(LOGGER).exception("request failed")
    err = capsys.readouterr().err
    for part in _parts(ACCESS_TOKEN):
        assert part not in err
    assert "ValueError" in err
    if fmt == "json":
        entry = json.loads(err)
        assert "ValueError" in entry["exception"]
        assert "[redacted]" in entry["exception"]


def test_level_is_applied(capsys, restore_logging):
    configure_logging("warn", "text")
    logging.getLogger(LOGGER).info("hidden")
    logging.getLogger(LOGGER).error("shown")
    err = capsys.readouterr().err
    assert "hidden" not in err
    assert "shown" in err


def test_configure_logging_replaces_handlers(capsys, restore_logging):
    configure_logging("info", "text")
    configure_logging("info", "json")
    logging.getLogger(LOGGER).info("once")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["msg"] == "once"
