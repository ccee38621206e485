"""The bundled template's migration moves a renamed file along, with the user's edits."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import TEMPLATE_DIR, git, invoke

pytestmark = pytest.mark.gen

OLD, NEW = "scripts/get_data.sh", "scripts/download_data.sh"


def _release(repo: Path, tag: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"release {tag}")
    git(repo, "tag", tag)


def test_renamed_script_keeps_user_edits(tmp_path: Path) -> None:
    # A template history: v0.0.9 still had the old name, v0.1.0 is the template as it is now.
    repo = tmp_path / "template"
    shutil.copytree(TEMPLATE_DIR, repo, symlinks=True)
    current = repo / "template" / NEW
    original = current.read_text()  # v0.1.0 only renamed the script
    git(repo, "init", "-q")
    current.rename(repo / "template" / OLD)
    _release(repo, "v0.0.9")
    (repo / "template" / OLD).rename(current)
    _release(repo, "v0.1.0")

    code, _, err = invoke(
        "new", "demo", "--defaults", "-o", str(tmp_path), "--template", str(repo),
        "--vcs-ref", "v0.0.9", "--trust",
    )  # fmt: skip
    assert code == 0, err
    project = tmp_path / "demo"
    script = project / OLD
    lines = script.read_text().splitlines()
    lines.insert(1, "# my mirror of the dataset")
    script.write_text("\n".join(lines) + "\n")
    git(project, "commit", "-qam", "point at my mirror")

    code, _, err = invoke("update", str(project), "--trust")
    assert code == 0, err
    assert not (project / OLD).exists()
    migrated = (project / NEW).read_text()
    assert "# my mirror of the dataset" in migrated
    assert migrated.replace("# my mirror of the dataset\n", "") == original
    assert "Kept" not in err
