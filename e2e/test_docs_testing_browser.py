"""docs/testing.md's browser example (docs/examples/testing/flask_app/): a Flask app logged
in through the harness in a real headless Chromium, run in its own pytest as the guide
says. The other examples run in tests/integration/test_docs_testing.py."""

from __future__ import annotations

import pytest

from e2e.conftest import NO_BROWSER, browser_executable
from tests.integration.test_docs_testing import EXAMPLES, passed, run_example_tests


def test_flask_login_in_the_browser(tmp_path, monkeypatch):
    executable = browser_executable()
    if executable is None:
        pytest.skip(NO_BROWSER)
    monkeypatch.setenv("CHROMIUM", executable)  # the example's own variable
    example = EXAMPLES / "flask_app" / "test_login_browser.py"
    assert passed(run_example_tests(example, tmp_path)) == 2
