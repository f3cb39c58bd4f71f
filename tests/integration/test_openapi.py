"""The OpenAPI descriptions of both APIs (``docs/openapi/``) against the server.

* Every route the Flask apps serve is described, and every described operation is served.
* Schemathesis sends generated requests (valid and invalid ones, some pointed at real
  clients, keys, challenges and tokens) to a live server on SQLite and on PostgreSQL, and
  checks every response: no 5xx, a documented status, content type, body and headers.
* A method a described path does not have answers 405 with ``Allow``.
"""

from __future__ import annotations

import os
import random

import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration import openapi_tools as tools

# (Schemathesis 4 imports cleanly under pyproject's `filterwarnings = error`: no filter needed.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Generated requests per port and database (at least; the last round may overshoot).
BUDGET = int(os.environ.get("AUTHSERVER_OPENAPI_BUDGET", "2000"))
# Relative shares of the budget; operations without parameters get a request or two.
WEIGHTS = {
    "/oauth2/token": 2.0,
    "/oauth2/auth": 1.5,
    "/oauth2/fallbacks/login": 0.3,
    "/oauth2/fallbacks/consent": 0.3,
    "/oauth2/fallbacks/logout": 0.3,
    "/oauth2/fallbacks/error": 0.5,
    "/admin/keys/{set_id}": 0.7,  # POST generates an RSA key: the slowest request here
}


def weight(path: str) -> float:
    return WEIGHTS.get(path, 1.0)


@pytest.fixture(autouse=True, scope="module")
def _hypothesis_home(tmp_path_factory):
    """Hypothesis keeps caches in .hypothesis/ of the working directory: not in the repo."""
    from hypothesis import configuration

    configuration.set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    configuration.set_hypothesis_home_dir(None)


# -- the descriptions ------------------------------------------------------------------


@pytest.mark.parametrize("spec", [tools.PUBLIC_SPEC, tools.ADMIN_SPEC], ids=["public", "admin"])
def test_description_is_valid_openapi_3_1(spec):
    description = tools.load_description(spec)
    assert description["openapi"].startswith("3.1.")
    schema = schemathesis.openapi.from_path(spec)
    schema.validate()  # against the OpenAPI 3.1 meta-schema
    for result in schema.get_all_operations():
        operation = result.ok()  # every $ref resolves
        assert operation.definition.raw.get("responses"), operation.label
    operation_ids = [
        item[method]["operationId"]
        for item in description["paths"].values()
        for method in item
        if method in tools.HTTP_METHODS
    ]
    assert len(operation_ids) == len(set(operation_ids))


@pytest.fixture(scope="module")
def apps():
    from authserver.admin.app import create_admin_app
    from authserver.config import load_settings
    from authserver.public.app import create_public_app
    from authserver.services import build_services

    settings = load_settings(env={"DSN": "memory", "SECRETS_SYSTEM": "x" * 32})
    services = build_services(settings)
    yield create_public_app(services), create_admin_app(services)
    services.close()


def test_every_public_route_is_described_and_every_description_served(apps):
    public_app, _ = apps
    served = tools.served_operations(public_app)
    described = tools.described_operations(tools.load_description(tools.PUBLIC_SPEC))
    assert sorted(served - described) == [], "served but not described"
    assert sorted(described - served) == [], "described but not served"


def test_every_admin_route_is_described_and_every_description_served(apps):
    _, admin_app = apps
    served = tools.served_operations(admin_app)
    described = tools.described_operations(tools.load_description(tools.ADMIN_SPEC))
    prefixed = tools.without_admin_aliases(served)
    assert sorted(prefixed - described) == [], "served but not described"
    assert sorted(described - prefixed) == [], "described but not served"
    # Every unprefixed path is an alias of a described /admin one, and every one has it.
    aliases = tools.admin_aliases(served)
    assert {("/admin" + path, method) for path, method in aliases} == described


# -- the live server -------------------------------------------------------------------


def test_undescribed_methods_answer_405_with_allow(server):
    for spec, base in (
        (tools.PUBLIC_SPEC, server.public_url),
        (tools.ADMIN_SPEC, server.admin_url),
    ):
        description = tools.load_description(spec)
        for path, item in description["paths"].items():
            described = {method.upper() for method in item if method in tools.HTTP_METHODS}
            url = base + path.replace("{client_id}", "x").replace("{set_id}", "x").replace(
                "{kid}", "x"
            )
            for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - described:
                response = requests.request(method, url, timeout=10)
                assert response.status_code == 405, (method, path, response.text)
                assert response.headers["Content-Type"] == "application/json"
                assert response.json()["error"] == "method_not_allowed"
                assert response.headers["Cache-Control"] == "no-store"
                allowed = {value.strip() for value in response.headers["Allow"].split(",")}
                assert allowed - {"HEAD", "OPTIONS"} == described, (method, path, allowed)


@pytest.mark.timeout(600)
def test_both_apis_conform_to_their_descriptions(server, backend):
    seed_value = int(os.environ.get("AUTHSERVER_OPENAPI_SEED") or random.randrange(1 << 30))
    maker = tools.SeedMaker(server.public_url, server.admin_url)
    client = maker.create_stable_client()
    reports = {}
    for name, spec, base in (
        ("public", tools.PUBLIC_SPEC, server.public_url),
        ("admin", tools.ADMIN_SPEC, server.admin_url),
    ):
        with tools.serialised_ast_parsing():
            reports[name] = tools.fuzz(
                schemathesis.openapi.from_path(spec),
                base_url=base,
                budget=BUDGET,
                make_seed=lambda: maker.make(client),
                weights=weight,
                checks=CHECKS,
                seed_value=seed_value,
            )
    counts = ", ".join(
        f"{name}: {report.requests} requests in {report.seconds:.0f} s"
        for name, report in reports.items()
    )
    print(f"\n[{backend}] {counts} (AUTHSERVER_OPENAPI_SEED={seed_value})")
    for report in reports.values():
        print(report.coverage())
    problems = "\n".join(report.summary() for report in reports.values() if report.failures)
    assert not problems, (
        f"[{backend}] responses that break the description "
        f"(rerun with AUTHSERVER_OPENAPI_SEED={seed_value}):\n{problems}"
    )
    for name, report in reports.items():
        assert report.requests >= BUDGET, (name, report.requests)
