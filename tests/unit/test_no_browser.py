"""Without a browser, the browser tests are skipped and the run says so in one line at
its end, not with Playwright's stack trace (issue #12)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_browser_skips_the_browser_tests_with_one_line_at_the_end(tmp_path):
    empty_path, no_downloads = tmp_path / "bin", tmp_path / "playwright"
    empty_path.mkdir()
    no_downloads.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if k != "AUTHSERVER_E2E_BROWSER"},
        "PATH": str(empty_path),  # no chromium on PATH
        "PLAYWRIGHT_BROWSERS_PATH": str(no_downloads),  # and none downloaded
    }
    # A browser test whose first fixture is the browser: it is skipped before any server.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-q",
            "e2e/test_consent_ui_pages.py::test_the_index_page_says_what_this_is_and_where_to_go",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output and "Executable doesn't exist" not in output
    last_lines = output.strip().splitlines()[-3:]
    assert any("browser tests did not run" in line and "chromium" in line for line in last_lines)
