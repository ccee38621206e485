"""Fixtures every dlproj test shares: a private git identity and a private dlproj data folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def dlproj_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data folder per test worker, so the bundled template is installed once per worker."""
    return tmp_path_factory.mktemp("dlproj-home")


@pytest.fixture(autouse=True)
def _isolated(
    gitconfig: object, dlproj_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Never touch the developer's ~/.local/share/dlproj or git identity."""
    monkeypatch.setenv("DLPROJ_HOME", str(dlproj_home))
    monkeypatch.delenv("NO_COLOR", raising=False)
    yield
