"""The Makefile on a machine that lacks something: one clear line each, no traceback; and
what `make demo` and `make test` install. Every run uses a virtualenv path under tmp_path,
so the checkout's .venv is never touched."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def fake_python(directory: Path, version: tuple[int, int], missing: str = "") -> Path:
    """A `python3` that says it is ``version`` and, optionally, lacks the module
    ``missing`` (as Debian's python3 lacks ensurepip without python3-venv)."""
    script = directory / "python3"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.version_info = ({version[0]}, {version[1]}, 12, 'final', 0)\n"
        f"if {missing!r}:\n"
        f"    sys.modules[{missing!r}] = None  # importing it fails\n"
        "if sys.argv[1:3] == ['-m', 'venv']:  # as Debian's, without python3-venv\n"
        "    __import__('os').makedirs(sys.argv[3] + '/bin')\n"
        "    print('The virtual environment was not created successfully because ensurepip')\n"
        "    print('is not available.  On Debian/Ubuntu systems, you need to install the')\n"
        "    raise SystemExit(1)\n"
        "if sys.argv[1:2] != ['-c']:\n"
        "    raise SystemExit('this fake python only runs -c CODE or -m venv')\n"
        "source, sys.argv = sys.argv[2], ['-c', *sys.argv[3:]]\n"
        "exec(compile(source, '<string>', 'exec'), {'__name__': '__main__'})\n"
    )
    script.chmod(0o755)
    return script


# Under `make test` these say "you are a sub-make" (its messages then read "make[1]:");
# a reader runs make from a shell, so the tests do too.
MAKE_STATE = ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")


def make(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=cwd,
        env={key: value for key, value in os.environ.items() if key not in MAKE_STATE},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def own_lines(output: str) -> list[str]:
    """The lines the Makefile prints, without make's own "make: *** [...] Error 1"."""
    return [
        line
        for line in output.splitlines()
        if line and not re.match(r"make(\[\d+\])?: \*\*\*", line)
    ]


def assert_one_line_before_any_venv(result, venv: Path, *facts: str) -> str:
    assert result.returncode != 0
    lines = own_lines(result.stdout + result.stderr)
    assert len(lines) == 1, result.stdout + result.stderr
    for fact in facts:
        assert fact in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert not venv.exists(), "a half-made virtualenv was left behind"
    return lines[0]


def test_a_python_that_is_too_old_is_one_line_naming_both_versions(tmp_path):
    python = fake_python(tmp_path, (3, 10))
    venv = tmp_path / "venv"
    result = make("demo", f"PYTHON={python}", f"VENV={venv}")
    assert_one_line_before_any_venv(result, venv, "3.10", "3.11")


def test_a_python_without_ensurepip_names_the_package_to_install(tmp_path):
    python = fake_python(tmp_path, sys.version_info[:2], missing="ensurepip")
    venv = tmp_path / "venv"
    result = make("demo", f"PYTHON={python}", f"VENV={venv}")
    assert_one_line_before_any_venv(result, venv, "apt-get install python3-venv")


def test_a_failing_venv_that_blames_ensurepip_is_one_line_and_leaves_nothing(tmp_path):
    python = fake_python(tmp_path, sys.version_info[:2])  # imports ensurepip fine
    venv = tmp_path / "venv"
    result = make("demo", f"PYTHON={python}", f"VENV={venv}")
    assert_one_line_before_any_venv(result, venv, "apt-get install python3-venv")


def test_no_python_at_all_is_one_line(tmp_path):
    venv = tmp_path / "venv"
    result = make("demo", f"PYTHON={tmp_path / 'no-python3'}", f"VENV={venv}")
    assert_one_line_before_any_venv(result, venv, "not found", "3.11")


def pip_installs(target: str, venv: Path) -> list[str]:
    dry_run = make("-n", target, f"VENV={venv}")
    assert dry_run.returncode == 0, dry_run.stderr
    return [line for line in dry_run.stdout.splitlines() if "pip install" in line]


def test_make_demo_installs_the_package_only_and_quietly(tmp_path):
    installs = pip_installs("demo", tmp_path / "venv")
    package = [line for line in installs if " -e " in line]
    assert len(package) == 1
    assert "[test]" not in package[0]
    # pip's and setuptools' output goes to a log, printed only when the install fails
    assert all("--quiet" in line and ">>" in line and "pip.log" in line for line in installs)


def test_make_test_installs_the_test_tools(tmp_path):
    installs = pip_installs("test", tmp_path / "venv")
    assert any("-e '.[test]'" in line for line in installs)


def test_make_clean_says_it_keeps_the_demo_data_and_how_to_remove_it(tmp_path):
    (tmp_path / ".authserver-demo").mkdir()
    result = make("-f", str(ROOT / "Makefile"), "clean", f"VENV={tmp_path / 'venv'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert ".authserver-demo" in result.stdout
    assert "rm -rf .authserver-demo" in result.stdout
    assert "make demo-reset" in result.stdout
    assert (tmp_path / ".authserver-demo").is_dir()
