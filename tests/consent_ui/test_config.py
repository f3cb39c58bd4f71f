"""config.from_env: defaults, required and malformed settings; create_app without a key."""

from __future__ import annotations

import logging

import pytest
from argon2 import PasswordHasher

from consent_ui import create_app
from consent_ui.config import ConfigError, from_env
from tests.consent_ui.conftest import FakeAdminApi, base_config, fast_hasher

ADMIN = {"HYDRA_ADMIN_URL": "http://127.0.0.1:4445/"}


def test_defaults():
    config = from_env(ADMIN)

    assert config["HYDRA_ADMIN_URL"] == "http://127.0.0.1:4445"
    assert (config["HOST"], config["PORT"]) == ("127.0.0.1", 3000)
    assert config["SECRET_KEY"] is None
    assert (config["USER_EMAIL"], config["USER_PASSWORD"]) == ("foo@bar.com", "foobar")
    assert config["USER_NAME"] == "Foo Bar"
    assert config["USER_PASSWORD_HASH"] is None
    assert config["REMEMBER_FOR"] == 2592000
    assert config["HTTPS"] is False
    assert config["TRUSTED_PROXIES"] == ()
    assert (config["THROTTLE_MAX_FAILURES"], config["THROTTLE_ADDRESS_MAX_FAILURES"]) == (5, 20)
    assert (config["THROTTLE_WINDOW"], config["THROTTLE_LOCKOUT"]) == (900, 300)
    assert config["THROTTLE_MAX_DELAY"] == 60
    assert config["DEVICE_COOKIE_MAX_AGE"] == 90 * 86400
    assert config["DEMO_CLIENT_URL"] is None
    assert config["USER_STORE"] is None


def test_every_variable():
    hashed = PasswordHasher().hash("pw")
    config = from_env(
        {
            **ADMIN,
            "HOST": "192.0.2.10",
            "PORT": "9020",
            "CONSENT_UI_SECRET_KEY": "k" * 32,
            "CONSENT_UI_USER_EMAIL": "ann@example.com",
            "CONSENT_UI_USER_NAME": "Ann Lee",
            "CONSENT_UI_USER_PASSWORD_HASH": hashed,
            "CONSENT_UI_REMEMBER_FOR": "60",
            "CONSENT_UI_HTTPS": "true",
            "CONSENT_UI_TRUSTED_PROXIES": " 10.0.0.0/8, ::1 ,192.168.1.7/24",
            "CONSENT_UI_THROTTLE_MAX_FAILURES": "7",
            "CONSENT_UI_THROTTLE_ADDRESS_MAX_FAILURES": "70",
            "CONSENT_UI_THROTTLE_WINDOW": "600",
            "CONSENT_UI_THROTTLE_LOCKOUT": "120",
            "CONSENT_UI_THROTTLE_MAX_DELAY": "30",
            "CONSENT_UI_DEVICE_COOKIE_MAX_AGE": "86400",
            "CONSENT_UI_DEMO_CLIENT_URL": "http://127.0.0.1:9010/",
            "CONSENT_UI_USER_STORE": " my_users:store ",
        }
    )

    assert (config["HOST"], config["PORT"]) == ("192.0.2.10", 9020)
    assert config["SECRET_KEY"] == "k" * 32
    assert (config["USER_EMAIL"], config["USER_NAME"]) == ("ann@example.com", "Ann Lee")
    assert config["USER_PASSWORD_HASH"] == hashed
    assert config["REMEMBER_FOR"] == 60
    assert config["HTTPS"] is True
    assert config["TRUSTED_PROXIES"] == ("10.0.0.0/8", "::1/128", "192.168.1.0/24")
    assert (config["THROTTLE_MAX_FAILURES"], config["THROTTLE_ADDRESS_MAX_FAILURES"]) == (7, 70)
    assert (config["THROTTLE_WINDOW"], config["THROTTLE_LOCKOUT"]) == (600, 120)
    assert config["THROTTLE_MAX_DELAY"] == 30
    assert config["DEVICE_COOKIE_MAX_AGE"] == 86400
    assert config["DEMO_CLIENT_URL"] == "http://127.0.0.1:9010/"
    assert config["USER_STORE"] == "my_users:store"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "HYDRA_ADMIN_URL is not set"),
        ({"HYDRA_ADMIN_URL": "  "}, "HYDRA_ADMIN_URL is not set"),
        ({"HYDRA_ADMIN_URL": "127.0.0.1:4445"}, "HYDRA_ADMIN_URL must be an http(s) URL"),
        ({**ADMIN, "PORT": "http"}, "PORT must be a whole number"),
        ({**ADMIN, "PORT": "70000"}, "PORT must be between 1 and 65535"),
        ({**ADMIN, "CONSENT_UI_REMEMBER_FOR": "-1"}, "CONSENT_UI_REMEMBER_FOR must be at least 0"),
        ({**ADMIN, "CONSENT_UI_USER_PASSWORD_HASH": "plain"}, "is not an argon2 hash"),
        ({**ADMIN, "CONSENT_UI_HTTPS": "maybe"}, "CONSENT_UI_HTTPS must be true or false"),
        ({**ADMIN, "CONSENT_UI_TRUSTED_PROXIES": "10.0.0.0/8,proxy"}, "'proxy' is not an IP"),
        ({**ADMIN, "CONSENT_UI_THROTTLE_LOCKOUT": "0"}, "THROTTLE_LOCKOUT must be at least 1"),
        ({**ADMIN, "CONSENT_UI_THROTTLE_MAX_FAILURES": "x"}, "MAX_FAILURES must be a whole"),
        ({**ADMIN, "CONSENT_UI_DEMO_CLIENT_URL": "javascript:x"}, "must be an http(s) URL"),
        ({**ADMIN, "CONSENT_UI_DEMO_CLIENT_URL": "http://a/\x00"}, "must be an http(s) URL"),
    ],
)
def test_bad_settings_are_one_clear_line(env, message):
    with pytest.raises(ConfigError) as caught:
        from_env(env)

    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_argon2i_hash_is_refused():
    from argon2.low_level import Type

    argon2i = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.I).hash("pw")

    with pytest.raises(ConfigError, match="argon2id"):
        from_env({**ADMIN, "CONSENT_UI_USER_PASSWORD_HASH": argon2i})


def test_without_a_secret_key_a_random_one_and_a_warning(caplog):
    caplog.set_level(logging.WARNING)
    config = base_config(SECRET_KEY=None)

    first = create_app(config, admin_api=FakeAdminApi())
    second = create_app(config, admin_api=FakeAdminApi())

    assert first.config["SECRET_KEY"] and first.config["SECRET_KEY"] != second.config["SECRET_KEY"]
    assert "CONSENT_UI_SECRET_KEY is not set" in caplog.text


def test_create_app_without_an_admin_url_fails_clearly():
    with pytest.raises(ConfigError, match="HYDRA_ADMIN_URL"):
        create_app({"SECRET_KEY": "x", "PASSWORD_HASHER": fast_hasher()})


def test_create_app_reads_nothing_at_import_and_the_env_only_when_asked(monkeypatch):
    monkeypatch.setenv("HYDRA_ADMIN_URL", "http://127.0.0.1:4445")
    monkeypatch.setenv("CONSENT_UI_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("CONSENT_UI_USER_PASSWORD", "envpass")

    app = create_app()

    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["HYDRA_ADMIN_URL"] == "http://127.0.0.1:4445"
    assert app.extensions["consent_ui"].users.authenticate("foo@bar.com", "envpass")
    assert app.extensions["consent_ui"].admin_api.base_url == "http://127.0.0.1:4445"
