"""Where the benchmark finds the repository (for ``git describe`` and the shared harness)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
