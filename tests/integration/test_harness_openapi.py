"""The harness's helper endpoints against docs/openapi/harness.yaml: every route is
described and every description served, and generated requests (valid and invalid)
never get a 500 or an answer the description does not allow, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import random

import pytest
import schemathesis
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration import openapi_tools as tools
from tests.integration.test_harness import harness, harness_process  # noqa: F401 (fixtures)

SPEC = tools.ROOT / "docs" / "openapi" / "harness.yaml"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = int(os.environ.get("AUTHSERVER_HARNESS_OPENAPI_EXAMPLES", "20"))  # per operation


@pytest.fixture(autouse=True, scope="module")
def _hypothesis_home(tmp_path_factory):
    from hypothesis import configuration

    configuration.set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    configuration.set_hypothesis_home_dir(None)


def test_every_harness_route_is_described_and_every_description_served():
    from flask import Flask

    from authserver.harness import admin_api

    app = Flask("scratch")  # the blueprint alone, as the harness mounts it
    app.register_blueprint(admin_api.bp, url_prefix="/admin")
    served = {
        (path, method)
        for path, method in tools.served_operations(app)
        if path.startswith("/admin/harness/")
    }
    described = tools.described_operations(tools.load_description(SPEC))
    assert described == served


@pytest.mark.timeout(300)
def test_the_helpers_conform_to_their_description(harness):  # noqa: F811
    seed_value = int(os.environ.get("AUTHSERVER_OPENAPI_SEED") or random.randrange(1 << 30))
    report = tools.FuzzReport()
    sender = tools.Sender(harness.admin_url, CHECKS, report)
    from schemathesis import GenerationMode

    try:
        schema = schemathesis.openapi.from_path(SPEC)
        for index, result in enumerate(schema.get_all_operations()):
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                # Unsatisfiable: nothing to negate (no parameters, no body).
                with contextlib.suppress(Unsatisfiable):
                    tools.generate(
                        operation.as_strategy(generation_mode=mode),
                        sender,
                        max_examples=EXAMPLES,
                        seed_value=seed_value + index * 2 + (mode == GenerationMode.NEGATIVE),
                    )
        sender.drain()
    finally:
        sender.close()
    print(f"\n{report.requests} requests (AUTHSERVER_OPENAPI_SEED={seed_value})")
    assert not report.failures, report.summary()
    assert report.requests >= EXAMPLES
