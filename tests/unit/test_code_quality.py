"""dlproj's own code passes its linters, so `.ci/run` catches what the pre-commit hooks would."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT

CHECKS = {
    "ruff-check": ["ruff", "check", "src", "tests", "benchmarks", "hatch_build.py"],
    "ruff-format": ["ruff", "format", "--check", "src", "tests", "benchmarks", "hatch_build.py"],
    "mypy": [sys.executable, "-m", "mypy"],
}


@pytest.mark.parametrize("command", CHECKS.values(), ids=CHECKS.keys())
def test_linter_passes(command: list[str]) -> None:
    proc = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_template_file_is_git_ignored() -> None:
    # The bundle is cut from git history: an ignored template file would silently go missing.
    proc = subprocess.run(
        ["git", "ls-files", "--others", "--ignored", "--exclude-standard", "templates"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    ignored = [line for line in proc.stdout.splitlines() if "__pycache__" not in line]
    assert ignored == []
