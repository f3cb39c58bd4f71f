"""docs/testing.md and its examples (docs/examples/testing/): every example is shown in the
guide as it is, and runs as its readers will run it.

The Python examples run in a pytest of their own (a subprocess: their plugin and options
are not this suite's), the Node example with ``node --test`` against a harness started
here. The browser example runs in e2e/test_docs_testing_browser.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from authserver.harness.config import _FIELDS, LIFETIMES
from authserver.harness.server import HarnessServer

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "testing.md"
EXAMPLES = ROOT / "docs" / "examples" / "testing"
HARNESS_CONFIG = EXAMPLES / "harness.yaml"
FENCED_BLOCK = re.compile(r"^```[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def example_files() -> list[Path]:
    return sorted(
        path for path in EXAMPLES.rglob("*") if path.is_file() and "__pycache__" not in path.parts
    )


def run_example_tests(example: Path, tmp_path: Path, timeout: float = 60) -> str:
    """Run one example test file in its own pytest, as the guide says to
    (``-p authserver.testing --authserver-config harness.yaml``); returns its output.

    Its own (empty) ini file and rootdir keep this repository's pytest settings out.
    Entry-point plugins are not loaded: they cost seconds, and the examples need only
    ``authserver.testing``, named with ``-p`` (also once it is an entry point itself)."""
    ini = tmp_path / "pytest.ini"
    ini.write_text("[pytest]\n")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        str(ini),
        "--rootdir",
        str(example.parent),
        "-p",
        "authserver.testing",
        "--authserver-config",
        str(HARNESS_CONFIG),
        "-p",
        "no:cacheprovider",
        "-q",
        str(example),
    ]
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)  # this suite's worker, not the example's
    result = subprocess.run(
        command,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{example.name} failed:\n{output}"
    return output


def passed(output: str) -> int:
    found = re.search(r"(\d+) passed", output)
    assert found, output
    assert not re.search(r"\d+ (failed|error|skipped)", output), output
    return int(found.group(1))


# -- the guide shows the examples ------------------------------------------------------------


def test_every_example_is_shown_verbatim_in_the_guide():
    blocks = {block.rstrip("\n") for block in FENCED_BLOCK.findall(GUIDE.read_text())}
    files = example_files()
    assert len(files) >= 9, files
    missing = [
        str(path.relative_to(ROOT)) for path in files if path.read_text().rstrip("\n") not in blocks
    ]
    assert not missing, f"not shown verbatim in a fenced block of docs/testing.md: {missing}"


def test_the_guide_lists_every_setting_of_the_harness_file():
    guide = GUIDE.read_text()
    for key in [*_FIELDS, *LIFETIMES]:
        assert f"`{key}`" in guide, key


def test_the_compose_and_workflow_files_parse():
    compose = yaml.safe_load((EXAMPLES / "docker-compose.harness.yml").read_text())
    command = compose["services"]["authserver"]["command"]
    assert command[:2] == ["authserver", "harness"]
    assert "--config" in command and "0.0.0.0" in command  # noqa: S104
    workflow = yaml.safe_load((EXAMPLES / "node" / "github-actions.yml").read_text())
    steps = "\n".join(step.get("run", "") for step in workflow["jobs"]["node-tests"]["steps"])
    assert "authserver harness --config docs/examples/testing/harness.yaml" in steps
    assert "/health/ready" in steps
    assert "node --test docs/examples/testing/node/harness.test.mjs" in steps


# -- the Python examples run ---------------------------------------------------------------


def test_api_tokens_example(tmp_path):
    assert passed(run_example_tests(EXAMPLES / "test_api_tokens.py", tmp_path)) == 5


def test_device_polling_example(tmp_path):
    began = time.monotonic()
    assert passed(run_example_tests(EXAMPLES / "test_device_polling.py", tmp_path)) == 3
    assert time.monotonic() - began < 20  # the clock is moved, nothing sleeps


def test_internal_issuer_example(tmp_path):
    example = EXAMPLES / "flask_app" / "test_internal_issuer.py"
    assert passed(run_example_tests(example, tmp_path)) == 4


# -- the Node example and the harness command it runs against ------------------------------


@pytest.fixture
def harness():
    server = HarnessServer.from_file(HARNESS_CONFIG, public_port=0, admin_port=0).start()
    yield server
    server.stop()


def test_node_example(harness, tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    env = {
        **os.environ,
        "AUTHSERVER_PUBLIC_URL": harness.public_url,
        "AUTHSERVER_ADMIN_URL": harness.admin_url,
    }
    result = subprocess.run(
        [node, "--test", str(EXAMPLES / "node" / "harness.test.mjs")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"^# pass 3$", output, re.MULTILINE), output
    assert re.search(r"^# fail 0$", output, re.MULTILINE), output


def test_the_workflow_command_starts_the_harness(tmp_path):
    """The GitHub Actions job's command, on free ports: it reads the examples' file."""
    command = [
        str(Path(sys.executable).parent / "authserver"),
        "harness",
        "--config",
        str(HARNESS_CONFIG),
        "--public-port",
        "0",
        "--admin-port",
        "0",
    ]
    if not Path(command[0]).exists():
        command[:1] = [sys.executable, "-m", "authserver.cli"]
    process = subprocess.Popen(
        command, cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "is ready" in line:
                break
        ready = re.search(r"admin (http://\S+)/$", lines[-1].rstrip("\n")) if lines else None
        assert ready, "".join(lines)
        alive = requests.get(ready.group(1) + "/health/alive", timeout=5)
        assert alive.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=15)
        process.stderr.close()


def test_the_harness_is_ready_when_it_says_so(harness):
    for base in (harness.public_url, harness.admin_url):
        answer = requests.get(base + "/health/ready", timeout=5)
        assert answer.status_code == 200, answer.text


# -- the README's section ----------------------------------------------------------------

README = ROOT / "README.md"


def _readme_section() -> list[str]:
    text = README.read_text()
    start = text.index("## Testing your app against authserver")
    end = text.index("\n## ", start + 1)
    return FENCED_BLOCK.findall(text[start:end])


def test_the_readme_harness_commands_answer_as_shown(tmp_path):
    """The README's harness.yaml and curl commands, against a harness on other ports."""
    config, commands, output = _readme_section()[:3]
    (tmp_path / "harness.yaml").write_text(config)
    with HarnessServer.from_file(tmp_path / "harness.yaml") as server:
        admin = server.admin_url.removeprefix("http://")
        lines = [line for line in commands.splitlines() if not line.startswith(("#", "authserver"))]
        script = "\n".join(lines).replace("localhost:4445", admin)
        ran = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)
    assert ran.returncode == 0, ran.stderr
    decision, tokens = (yaml.safe_load(line) for line in ran.stdout.splitlines())
    shown = output.splitlines()
    assert shown[0].startswith("authserver harness is ready in")
    for answer, line in ((decision, shown[1]), (tokens, shown[2])):
        keys = set(re.findall(r'"(\w+)":', line))
        assert set(answer) == keys, (answer, line)
    assert decision["subject"] == "alice" and tokens["scope"] == "openid"
