"""docker-compose.yml and the Dockerfile, checked against what the apps really read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from authserver.config import ENV_NAMES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def env_names_read_by(package: str) -> set[str]:
    """Environment variable names a package's source mentions as string literals."""
    names = set()
    for path in (ROOT / package).rglob("*.py"):
        names |= set(re.findall(r"[\"']([A-Z][A-Z0-9_]{2,})[\"']", path.read_text()))
    return names


def test_the_services_of_the_guide_are_there():
    assert set(SERVICES) == {
        "postgres",
        "authserver-migrate",
        "authserver",
        "consent",
        "demo-client",
        "second-app",  # the second demo client, for logging out of one of two apps
    }


@pytest.mark.parametrize(
    ("service", "ports"),
    [
        ("authserver", ["127.0.0.1:9000:4444", "127.0.0.1:9001:4445"]),
        ("consent", ["127.0.0.1:9020:3000"]),
        ("demo-client", ["127.0.0.1:9010:4446"]),
        ("second-app", ["127.0.0.1:9011:4446"]),
    ],
)
def test_host_ports_are_the_guides(service, ports):
    assert SERVICES[service]["ports"] == ports


def host_ip(port) -> str | None:
    """The host address of a published port, in compose's short ("IP:HOST:CONTAINER") or
    long ({host_ip: …}) syntax; None when it binds every interface."""
    if isinstance(port, dict):
        return port.get("host_ip")
    parts = str(port).rsplit("/", 1)[0].rsplit(":", 2)
    return parts[0] if len(parts) == 3 else None


def test_every_published_port_binds_loopback_only():
    # The stack runs with --dev, a public demo secret and a known password.
    published = [
        (name, port) for name, service in SERVICES.items() for port in service.get("ports", [])
    ]
    assert len(published) == 5
    exposed = [(name, port) for name, port in published if host_ip(port) != "127.0.0.1"]
    assert not exposed, f"published beyond 127.0.0.1: {exposed}"


@pytest.mark.parametrize(
    ("port", "ip"),
    [
        ("9000:4444", None),
        ("127.0.0.1:9000:4444", "127.0.0.1"),
        ("192.0.2.7:9000:4444/tcp", "192.0.2.7"),
        ("4444", None),
        ({"target": 4444, "published": 9000}, None),
        ({"target": 4444, "published": 9000, "host_ip": "127.0.0.1"}, "127.0.0.1"),
    ],
)
def test_host_ip_reads_both_port_syntaxes(port, ip):
    assert host_ip(port) == ip


def test_no_service_uses_the_host_network():
    # network_mode: host would publish every listening port without a ports entry
    assert all(service.get("network_mode") != "host" for service in SERVICES.values())


def test_postgres_is_current_with_a_volume_and_a_health_check():
    postgres = SERVICES["postgres"]
    assert int(postgres["image"].split(":")[1]) >= 16
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert set(COMPOSE["volumes"]) >= {volume.split(":")[0] for volume in postgres["volumes"]}


def test_migration_runs_once_before_the_server():
    migrate = SERVICES["authserver-migrate"]
    assert migrate["command"] == ["authserver", "migrate", "sql", "-e", "--yes"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate.get("restart") == "no"
    server = SERVICES["authserver"]
    assert server["command"] == ["authserver", "serve", "all", "--dev"]
    assert server["depends_on"]["authserver-migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert migrate["environment"]["DSN"] == server["environment"]["DSN"]
    assert server["environment"]["DSN"].startswith("postgres://")


def test_every_long_running_service_has_a_health_check():
    for name in ("postgres", "authserver", "consent", "demo-client", "second-app"):
        check = SERVICES[name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        # One argument per element and no shell for the apps: podman re-splits strings.
        if name != "postgres":
            assert check["test"][:2] == ["CMD", "authserver-healthcheck"], name
            assert all(" " not in part for part in check["test"]), name


def test_apps_start_after_what_they_need():
    assert SERVICES["consent"]["depends_on"]["authserver"]["condition"] == "service_healthy"
    for name in ("demo-client", "second-app"):
        client = SERVICES[name]["depends_on"]
        assert client["authserver"]["condition"] == "service_healthy", name
        assert SERVICES[name]["command"] == ["demo-client", "--register"], name
    assert SERVICES["consent"]["command"] == ["consent-ui"]


def test_urls_fit_the_published_ports():
    server = SERVICES["authserver"]["environment"]
    assert server["URLS_SELF_ISSUER"] == "http://127.0.0.1:9000/"
    for name in ("LOGIN", "CONSENT", "LOGOUT", "DEVICE_VERIFICATION", "DEVICE_SUCCESS"):
        assert server[f"URLS_{name}"].startswith("http://127.0.0.1:9020/")
    assert SERVICES["consent"]["environment"]["HYDRA_ADMIN_URL"] == "http://authserver:4445"
    client = SERVICES["demo-client"]["environment"]
    assert client["DEMO_CLIENT_ISSUER"] == server["URLS_SELF_ISSUER"]
    assert client["DEMO_CLIENT_BACKCHANNEL_URL"] == "http://authserver:4444/"
    assert client["DEMO_CLIENT_REDIRECT_URI"] == "http://127.0.0.1:9010/callback"
    # the authorization server reaches each demo client by its service name
    assert client["DEMO_CLIENT_BACKCHANNEL_LOGOUT_URI"] == (
        "http://demo-client:4446/backchannel-logout"
    )
    assert SERVICES["consent"]["environment"]["CONSENT_UI_DEMO_CLIENT_URL"] == (
        "http://127.0.0.1:9010/"
    )


def test_the_second_app_is_its_own_client():
    first = SERVICES["demo-client"]["environment"]
    second = SERVICES["second-app"]["environment"]
    assert second["DEMO_CLIENT_NAME"] == "Second app"
    assert second["DEMO_CLIENT_ID"] == "second-app"
    # its own single-page app client, so the two never claim one registration
    assert second["DEMO_CLIENT_SPA_ID"] == "second-app-spa"
    assert second["DEMO_CLIENT_REDIRECT_URI"] == "http://127.0.0.1:9011/callback"
    assert second["DEMO_CLIENT_BACKCHANNEL_LOGOUT_URI"] == (
        "http://second-app:4446/backchannel-logout"
    )
    for name in ("DEMO_CLIENT_ISSUER", "DEMO_CLIENT_BACKCHANNEL_URL", "DEMO_CLIENT_ADMIN_URL"):
        assert second[name] == first[name], name
    assert SERVICES["second-app"]["healthcheck"] == SERVICES["demo-client"]["healthcheck"]
    assert SERVICES["second-app"]["depends_on"] == SERVICES["demo-client"]["depends_on"]
    origins = SERVICES["authserver"]["environment"]["SERVE_PUBLIC_CORS_ALLOWED_ORIGINS"]
    assert set(origins.split(",")) == {"http://127.0.0.1:9010", "http://127.0.0.1:9011"}
    # http logout URIs to non-loopback hosts (the service names) need --dev
    assert "--dev" in SERVICES["authserver"]["command"]


@pytest.mark.parametrize(
    ("service", "package", "extra"),
    [
        ("authserver", "authserver", set(ENV_NAMES)),
        ("authserver-migrate", "authserver", set(ENV_NAMES)),
        ("consent", "consent_ui", set()),
        ("demo-client", "demo_client", set()),
        ("second-app", "demo_client", set()),
    ],
)
def test_environment_names_are_ones_the_app_reads(service, package, extra):
    known = env_names_read_by(package) | extra
    unknown = set(SERVICES[service].get("environment", {})) - known
    assert not unknown, f"{service} sets variables its app never reads: {unknown}"


def test_dockerfile_is_small_non_root_and_health_checked():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert len(stages) == 2 and all("slim" in stage for stage in stages)
    final = dockerfile.split("\nFROM ")[-1]
    assert re.search(r"^USER (?!root)\S+", final, re.MULTILINE)
    assert "HEALTHCHECK" in final
    assert "COPY --from=build /opt/venv /opt/venv" in final
    assert "pip install" not in final  # build tools and caches stay in the build stage
