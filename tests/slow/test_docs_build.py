"""dlproj's own docs site builds with ``mkdocs build --strict``: no broken link, no orphan page."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers import run

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_docs_build_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    config = REPO_ROOT / "mkdocs.yml"
    argv = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)]
    run(argv, cwd=REPO_ROOT, env={"NO_MKDOCS_2_WARNING": "1"}, timeout=300)
    assert (site / "index.html").is_file()
    assert (site / "options" / "index.html").is_file()
    assert not list(site.rglob("*.py")), "docs/*.py scripts must not be published"
