"""Configuration loading: defaults, environment, YAML file, and exhaustive validation."""

from __future__ import annotations

import pytest

from authserver.config import DEFAULT_DSN, ConfigError, Settings, load_settings

SECRET = "0123456789abcdef0123456789abcdef"
OTHER_SECRET = "fedcba9876543210fedcba9876543210"


def load(env: dict[str, str] | None = None, **kwargs) -> Settings:
    return load_settings(env={"SECRETS_SYSTEM": SECRET, **(env or {})}, **kwargs)


def problems_of(env: dict[str, str], **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(env=env, **kwargs)
    return caught.value.problems


def lines_naming(problems: list[str], name: str) -> list[str]:
    return [problem for problem in problems if problem.startswith(name)]


# -- defaults --------------------------------------------------------------------------


def test_defaults():
    settings = load()
    assert settings.dsn == DEFAULT_DSN
    assert settings.dsn.startswith("sqlite:///")
    assert not settings.is_memory_database
    assert settings.access_token_ttl == 3600
    assert settings.refresh_token_ttl == 720 * 3600
    assert settings.id_token_ttl == 3600
    assert settings.auth_code_ttl == 10 * 60
    assert settings.login_consent_request_ttl == 30 * 60
    assert settings.public_port == 4444
    assert settings.admin_port == 4445
    assert settings.issuer == "http://127.0.0.1:4444/"
    assert settings.public_url == settings.issuer
    assert settings.secrets_system == (SECRET,)
    assert settings.secrets_generated is False
    assert settings.warnings == ()
    assert settings.dev is False
    assert settings.access_token_strategy == "opaque"
    assert settings.log_level == "info"
    assert settings.log_format == "text"
    assert settings.login_url is None
    assert settings.consent_url is None


def test_default_issuer_follows_public_port():
    settings = load({"SERVE_PUBLIC_PORT": "9000"})
    assert settings.public_port == 9000
    assert settings.issuer == "http://127.0.0.1:9000/"


def test_environment_values_are_parsed():
    settings = load(
        {
            "DSN": "memory",
            "TTL_ACCESS_TOKEN": "2h",
            "TTL_REFRESH_TOKEN": "1h30m",
            "TTL_AUTH_CODE": "90s",
            "SERVE_ADMIN_PORT": "5445",
            "URLS_SELF_ISSUER": "https://auth.example.com/",
            "URLS_LOGIN": "https://login.example.com/login",
            "STRATEGIES_ACCESS_TOKEN": "jwt",
            "LOG_FORMAT": "json",
            "OAUTH2_PKCE_ENFORCED": "true",
        }
    )
    assert settings.is_memory_database
    assert settings.access_token_ttl == 7200
    assert settings.refresh_token_ttl == 5400
    assert settings.auth_code_ttl == 90
    assert settings.admin_port == 5445
    assert settings.issuer == "https://auth.example.com/"
    assert settings.public_url == "https://auth.example.com/"
    assert settings.login_url == "https://login.example.com/login"
    assert settings.access_token_strategy == "jwt"
    assert settings.log_format == "json"
    assert settings.pkce_enforced is True


@pytest.mark.parametrize(
    "dsn",
    [
        "memory",
        "sqlite:///authserver.sqlite",
        "sqlite:////var/lib/authserver/db.sqlite",
        "postgres://user:pw@db:5432/hydra",
        "postgresql://user:pw@db:5432/hydra",
    ],
)
def test_supported_dsns(dsn):
    assert load({"DSN": dsn}).dsn == dsn


# -- secrets ---------------------------------------------------------------------------


def test_system_secret_comma_list_keeps_order():
    settings = load({"SECRETS_SYSTEM": f"{OTHER_SECRET}, {SECRET}"})
    assert settings.secrets_system == (OTHER_SECRET, SECRET)


def test_cookie_secrets_default_to_system_secrets():
    settings = load({"SECRETS_SYSTEM": f"{OTHER_SECRET},{SECRET}"})
    assert settings.secrets_cookie == (OTHER_SECRET, SECRET)


def test_cookie_secrets_can_be_set_separately():
    cookie = "c" * 20
    settings = load({"SECRETS_COOKIE": cookie})
    assert settings.secrets_cookie == (cookie,)
    assert settings.secrets_system == (SECRET,)


def test_dev_without_secret_generates_one():
    first = load_settings(env={}, dev=True)
    second = load_settings(env={}, dev=True)
    assert first.dev is True
    assert first.secrets_generated is True
    assert len(first.secrets_system) == 1
    assert len(first.secrets_system[0]) >= 16
    assert first.secrets_system != second.secrets_system  # random, not a fixed value
    assert first.secrets_cookie == first.secrets_system
    assert len(first.warnings) >= 1
    assert any("SECRETS_SYSTEM" in warning for warning in first.warnings)


def test_dev_with_configured_secret_generates_nothing():
    settings = load(dev=True)
    assert settings.secrets_system == (SECRET,)
    assert settings.secrets_generated is False
    assert settings.warnings == ()


def test_dev_downgrades_a_short_secret_to_a_warning():
    settings = load_settings(env={"SECRETS_SYSTEM": "short"}, dev=True)
    assert settings.secrets_system == ("short",)
    assert settings.secrets_generated is False
    assert any(warning.startswith("SECRETS_SYSTEM") for warning in settings.warnings)


# -- one problem each ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "dev", "name"),
    [
        pytest.param({}, False, "SECRETS_SYSTEM", id="missing-secret"),
        pytest.param({"SECRETS_SYSTEM": ""}, False, "SECRETS_SYSTEM", id="empty-secret"),
        pytest.param({"SECRETS_SYSTEM": " , "}, False, "SECRETS_SYSTEM", id="blank-list"),
        pytest.param({"SECRETS_SYSTEM": "short"}, False, "SECRETS_SYSTEM", id="short-secret"),
        pytest.param(
            {"SECRETS_SYSTEM": f"{SECRET},tooshort"}, False, "SECRETS_SYSTEM", id="short-second"
        ),
        pytest.param(
            {"SECRETS_SYSTEM": "youReallyNeedToChangeThis"},
            False,
            "SECRETS_SYSTEM",
            id="published-example-1",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": "this_needs_to_be_the_same_always_and_also_very_$3cuR3-._"},
            False,
            "SECRETS_SYSTEM",
            id="published-example-2",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "SECRETS_COOKIE": "short"},
            False,
            "SECRETS_COOKIE",
            id="short-cookie-secret",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "URLS_SELF_ISSUER": "http://auth.example.com/"},
            False,
            "URLS_SELF_ISSUER",
            id="http-issuer-public-host",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "URLS_SELF_ISSUER": "http://10.0.0.5:4444/"},
            False,
            "URLS_SELF_ISSUER",
            id="http-issuer-private-ip",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "URLS_SELF_ISSUER": "auth.example.com"},
            False,
            "URLS_SELF_ISSUER",
            id="issuer-not-absolute",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "URLS_SELF_ISSUER": "https://auth.example.com/?x=1"},
            False,
            "URLS_SELF_ISSUER",
            id="issuer-with-query",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "URLS_SELF_PUBLIC": "http://auth.example.com/"},
            False,
            "URLS_SELF_PUBLIC",
            id="http-public-url",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "URLS_LOGIN": "/login"},
            False,
            "URLS_LOGIN",
            id="relative-login-url",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "TTL_ACCESS_TOKEN": "1x"},
            False,
            "TTL_ACCESS_TOKEN",
            id="malformed-duration",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "TTL_REFRESH_TOKEN": "3600"},
            False,
            "TTL_REFRESH_TOKEN",
            id="duration-without-unit",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "TTL_ID_TOKEN": "-1h"},
            False,
            "TTL_ID_TOKEN",
            id="negative-duration",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "TTL_AUTH_CODE": "0"},
            False,
            "TTL_AUTH_CODE",
            id="zero-duration",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "TTL_LOGIN_CONSENT_REQUEST": "500ms"},
            False,
            "TTL_LOGIN_CONSENT_REQUEST",
            id="sub-second-duration",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "DSN": "mysql://user:pw@db:3306/hydra"},
            False,
            "DSN",
            id="mysql-dsn",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "DSN": "cockroach://root@db:26257/hydra"},
            False,
            "DSN",
            id="cockroach-dsn",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "SERVE_PUBLIC_PORT": "abc"},
            False,
            "SERVE_PUBLIC_PORT",
            id="port-not-a-number",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "SERVE_ADMIN_PORT": "0"},
            False,
            "SERVE_ADMIN_PORT",
            id="port-zero",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "SERVE_ADMIN_PORT": "65536"},
            False,
            "SERVE_ADMIN_PORT",
            id="port-too-large",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "LOG_LEVEL": "verbose"},
            False,
            "LOG_LEVEL",
            id="unknown-log-level",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "STRATEGIES_ACCESS_TOKEN": "macaroon"},
            False,
            "STRATEGIES_ACCESS_TOKEN",
            id="unknown-strategy",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "OAUTH2_PKCE_ENFORCED": "maybe"},
            False,
            "OAUTH2_PKCE_ENFORCED",
            id="not-a-boolean",
        ),
        pytest.param(
            {"SECRETS_SYSTEM": SECRET, "SERVE_TLS_ALLOW_TERMINATION_FROM": "not-a-network"},
            False,
            "SERVE_TLS_ALLOW_TERMINATION_FROM",
            id="bad-cidr",
        ),
        pytest.param(
            {"DSN": "mysql://user:pw@db:3306/hydra"}, True, "DSN", id="dev-does-not-excuse-dsn"
        ),
    ],
)
def test_single_problem_is_reported(env, dev, name):
    problems = problems_of(env, dev=dev)
    assert len(problems) == 1, problems
    assert problems[0].startswith(name), problems


def test_problem_lines_are_single_lines_and_form_the_message():
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"DSN": "mysql://db/x", "TTL_ACCESS_TOKEN": "1x"})
    error = caught.value
    assert str(error) == "\n".join(error.problems)
    assert all("\n" not in problem for problem in error.problems)
    assert str(error).count("\n") == len(error.problems) - 1


def test_several_problems_are_reported_at_once():
    problems = problems_of(
        {
            "DSN": "mysql://user@db/hydra",
            "TTL_ACCESS_TOKEN": "1x",
            "TTL_AUTH_CODE": "10",
            "SERVE_PUBLIC_PORT": "abc",
            "SERVE_ADMIN_PORT": "70000",
            "URLS_SELF_ISSUER": "http://auth.example.com/",
        }
    )
    for name in (
        "SECRETS_SYSTEM",
        "DSN",
        "TTL_ACCESS_TOKEN",
        "TTL_AUTH_CODE",
        "SERVE_PUBLIC_PORT",
        "SERVE_ADMIN_PORT",
        "URLS_SELF_ISSUER",
    ):
        assert len(lines_naming(problems, name)) == 1, (name, problems)
    assert len(problems) >= 7


@pytest.mark.parametrize(
    "issuer",
    [
        "http://127.0.0.1:4444/",
        "http://127.0.0.2:4444/",
        "http://localhost:4444/",
        "http://auth.localhost/",
        "http://[::1]:4444/",
        "https://auth.example.com/",
    ],
)
def test_issuer_allowed_without_dev(issuer):
    settings = load({"URLS_SELF_ISSUER": issuer})
    assert settings.issuer == issuer
    assert settings.public_url == issuer


@pytest.mark.parametrize("issuer", ["http://auth.example.com/", "http://192.168.1.10:4444/"])
def test_http_issuer_on_public_host_allowed_with_dev(issuer):
    settings = load({"URLS_SELF_ISSUER": issuer}, dev=True)
    assert settings.issuer == issuer
    assert settings.public_url == issuer
    assert settings.dev is True


def test_http_public_url_derived_from_issuer_is_reported_once():
    problems = problems_of({"SECRETS_SYSTEM": SECRET, "URLS_SELF_ISSUER": "http://auth.example/"})
    assert len(problems) == 1
    assert problems[0].startswith("URLS_SELF_ISSUER")


def test_explicit_public_url_is_checked_on_its_own():
    problems = problems_of(
        {
            "SECRETS_SYSTEM": SECRET,
            "URLS_SELF_ISSUER": "https://auth.example/",
            "URLS_SELF_PUBLIC": "http://public.example/",
        }
    )
    assert len(problems) == 1
    assert problems[0].startswith("URLS_SELF_PUBLIC")
    settings = load(
        {"URLS_SELF_ISSUER": "https://auth.example/", "URLS_SELF_PUBLIC": "https://pub.example/"}
    )
    assert settings.public_url == "https://pub.example/"


# -- YAML file -------------------------------------------------------------------------


def write(tmp_path, text: str):
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_file_with_hydra_layout(tmp_path):
    path = write(
        tmp_path,
        f"""
dsn: memory
urls:
  self:
    issuer: https://auth.example.com/
  login: https://login.example.com/login
  consent: https://login.example.com/consent
secrets:
  system:
    - {OTHER_SECRET}
    - {SECRET}
ttl:
  access_token: 2h
  refresh_token: 24h
serve:
  public:
    port: 8444
  admin:
    port: 8445
oauth2:
  pkce:
    enforced: true
""",
    )
    settings = load_settings(env={}, config_file=path)
    assert settings.dsn == "memory"
    assert settings.issuer == "https://auth.example.com/"
    assert settings.login_url == "https://login.example.com/login"
    assert settings.consent_url == "https://login.example.com/consent"
    assert settings.secrets_system == (OTHER_SECRET, SECRET)
    assert settings.secrets_cookie == (OTHER_SECRET, SECRET)
    assert settings.access_token_ttl == 7200
    assert settings.refresh_token_ttl == 24 * 3600
    assert settings.id_token_ttl == 3600  # untouched keys keep their defaults
    assert settings.public_port == 8444
    assert settings.admin_port == 8445
    assert settings.pkce_enforced is True


def test_yaml_file_accepts_a_str_path(tmp_path):
    path = write(tmp_path, f"secrets:\n  system: [{SECRET}]\n")
    assert load_settings(env={}, config_file=str(path)).secrets_system == (SECRET,)


def test_environment_overrides_file(tmp_path):
    path = write(
        tmp_path,
        f"""
urls:
  self:
    issuer: https://from-file.example.com/
secrets:
  system: [{OTHER_SECRET}]
ttl:
  access_token: 2h
  id_token: 3h
""",
    )
    settings = load_settings(
        env={
            "URLS_SELF_ISSUER": "https://from-env.example.com/",
            "SECRETS_SYSTEM": SECRET,
            "TTL_ACCESS_TOKEN": "5m",
        },
        config_file=path,
    )
    assert settings.issuer == "https://from-env.example.com/"
    assert settings.secrets_system == (SECRET,)
    assert settings.access_token_ttl == 300
    assert settings.id_token_ttl == 3 * 3600  # not overridden: the file's value


def test_empty_yaml_file_means_defaults(tmp_path):
    path = write(tmp_path, "")
    settings = load_settings(env={"SECRETS_SYSTEM": SECRET}, config_file=path)
    assert settings.access_token_ttl == 3600
    assert settings.dsn == DEFAULT_DSN


def _file_problems(tmp_path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = write(tmp_path, text)
    return problems_of({"SECRETS_SYSTEM": SECRET, **(env or {})}, config_file=path)


def test_unknown_yaml_key_is_a_problem(tmp_path):
    problems = _file_problems(tmp_path, "ttl:\n  access_tokn: 1h\nfoo: bar\n")
    assert len(problems) == 2
    assert sum("ttl.access_tokn" in problem for problem in problems) == 1
    assert sum("'foo'" in problem for problem in problems) == 1
    assert all(problem.startswith("config file") for problem in problems)


def test_invalid_yaml_is_a_problem(tmp_path):
    problems = _file_problems(tmp_path, "urls: [unclosed\n  self: {\n")
    assert len(problems) == 1
    assert problems[0].startswith("config file")
    assert str(tmp_path / "config.yaml") in problems[0]


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"])
def test_yaml_top_level_must_be_a_mapping(tmp_path, text):
    problems = _file_problems(tmp_path, text)
    assert len(problems) == 1
    assert problems[0].startswith("config file")


def test_missing_config_file_is_a_problem(tmp_path):
    problems = problems_of({"SECRETS_SYSTEM": SECRET}, config_file=tmp_path / "absent.yaml")
    assert len(problems) == 1
    assert problems[0].startswith("config file")


def test_bad_value_in_file_names_the_key(tmp_path):
    problems = _file_problems(
        tmp_path, "ttl:\n  access_token: soon\nserve:\n  admin:\n    port: 0\n"
    )
    assert len(problems) == 2
    assert sum(problem.startswith("ttl.access_token") for problem in problems) == 1
    assert sum(problem.startswith("serve.admin.port") for problem in problems) == 1


def test_file_problems_and_environment_problems_are_reported_together(tmp_path):
    problems = _file_problems(tmp_path, "nonsense: 1\n", env={"SERVE_PUBLIC_PORT": "x"})
    assert len(problems) == 2
    assert len(lines_naming(problems, "config file")) == 1
    assert len(lines_naming(problems, "SERVE_PUBLIC_PORT")) == 1


def test_structured_value_for_scalar_key_is_a_problem(tmp_path):
    problems = _file_problems(tmp_path, "dsn:\n  host: db\n")
    assert len(lines_naming(problems, "dsn")) == 1


def test_head_revision_constant_matches_the_newest_migration():
    from authserver.storage import migrations

    assert migrations.head_revision() == migrations.HEAD_REVISION
