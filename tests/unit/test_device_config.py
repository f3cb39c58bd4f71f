"""The device flow's settings: Hydra's keys, their defaults and their validation."""

from __future__ import annotations

import pytest

from authserver.config import ConfigError, load_settings

SECRET = {"SECRETS_SYSTEM": "a-system-secret-of-32-characters"}


def test_defaults():
    settings = load_settings(SECRET)
    assert settings.device_verification_url is None  # the fallback page
    assert settings.device_success_url is None
    assert settings.device_user_code_ttl == 900
    assert settings.device_polling_interval == 5
    assert settings.device_user_code_entropy_preset == "high"


def test_environment_names_and_a_nested_config_file(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        "urls:\n  device:\n    verification: https://login.example.com/device\n"
        "oauth2:\n  device_authorization:\n    user_code:\n      entropy_preset: low\n"
    )
    settings = load_settings(
        {
            **SECRET,
            "URLS_DEVICE_SUCCESS": "https://login.example.com/device/success",
            "TTL_DEVICE_USER_CODE": "10m",
            "OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL": "10s",
        },
        config_file=config,
    )
    assert settings.device_verification_url == "https://login.example.com/device"
    assert settings.device_success_url == "https://login.example.com/device/success"
    assert settings.device_user_code_ttl == 600
    assert settings.device_polling_interval == 10
    assert settings.device_user_code_entropy_preset == "low"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_ENTROPY_PRESET", "extreme"),
        ("TTL_DEVICE_USER_CODE", "0s"),
        ("OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL", "soon"),
        ("URLS_DEVICE_VERIFICATION", "not a url"),
        ("URLS_DEVICE_SUCCESS", "ftp://example.com/done"),
    ],
)
def test_bad_values_are_one_line_each(name, value):
    with pytest.raises(ConfigError) as error:
        load_settings({**SECRET, name: value})
    assert len(error.value.problems) == 1
    assert error.value.problems[0].startswith(name)
