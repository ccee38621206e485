"""The wheel carries the template's history: render offline from an install, update as a teammate.

Two wheels are built from a clone of this repository, the second after a template change. A
project made with the first is updated with the second in a clean HOME on a fresh clone, the
way a teammate who never ran the first dlproj would.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import copier
import pytest
import yaml

from tests.helpers import REPO_ROOT, git, run

pytestmark = pytest.mark.slow

TEMPLATE_CHANGE = "# added by template release 0.1.1\nreports/\n"


def _wheel(clone: Path, out: Path) -> Path:
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=clone)  # fmt: skip
    (wheel,) = out.glob("dlproj-*.whl")
    return wheel


def _install(wheel: Path, venv: Path) -> Path:
    run(["uv", "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=venv.parent)
    run(["uv", "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel)],
        cwd=venv.parent)  # fmt: skip
    return venv / "bin" / "dlproj"


@pytest.fixture(autouse=True)
def _installed_dlproj_uses_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed dlproj keeps its template under HOME, as on a user's machine."""
    monkeypatch.delenv("DLPROJ_HOME")
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)


def _env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    return {"HOME": str(home)}


def _answers(project: Path) -> dict[str, object]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(first wheel, second wheel, a render of the first wheel's template from its source)."""
    root = tmp_path_factory.mktemp("wheels")
    clone = root / "dlproj"
    git(root, "clone", "--quiet", str(REPO_ROOT), str(clone))
    first = _wheel(clone, root / "dist1")
    reference = root / "reference"
    reference.mkdir()
    copier.run_copy(
        str(clone / "templates/default"), reference / "demo", data={"project_name": "demo"},
        defaults=True, quiet=True,
    )  # fmt: skip
    gitignore = clone / "templates/default/template/.gitignore"
    gitignore.write_text(gitignore.read_text() + TEMPLATE_CHANGE)
    git(clone, "commit", "-qam", "template: ignore reports/")
    second = _wheel(clone, root / "dist2")
    return first, second, reference / "demo"


def test_wheel_renders_offline_like_its_source(
    wheels: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    dlproj = _install(wheels[0], tmp_path / "venv")
    work = tmp_path / "clean"
    work.mkdir()
    run([str(dlproj), "new", "demo", "--defaults", "--no-git"], cwd=work, env=_env(tmp_path / "h"))
    project = work / "demo"
    assert _answers(project)["_src_path"] == "~/.local/share/dlproj/templates/default.bundle"

    expected = wheels[2]
    rendered = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
    wanted = {p.relative_to(expected).as_posix() for p in expected.rglob("*") if p.is_file()}
    assert rendered == wanted
    for rel in wanted - {".copier-answers.yml"}:
        assert (project / rel).read_bytes() == (expected / rel).read_bytes(), rel


def test_teammate_updates_with_a_newer_wheel_offline(
    wheels: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    old_dlproj = _install(wheels[0], tmp_path / "venv-old")
    new_dlproj = _install(wheels[1], tmp_path / "venv-new")
    mine = tmp_path / "me"
    mine.mkdir()
    run([str(old_dlproj), "new", "demo", "--defaults"], cwd=mine, env=_env(tmp_path / "home-me"))
    readme = mine / "demo" / "README.md"
    readme.write_text(readme.read_text() + "\nMy notes.\n")
    git(mine / "demo", "commit", "-qam", "my notes")

    mate = tmp_path / "mate"
    mate.mkdir()
    git(mate, "clone", "--quiet", str(mine / "demo"), "demo")
    project = mate / "demo"
    mate_env = _env(tmp_path / "home-mate")
    shutil.rmtree(tmp_path / "home-me")  # nothing of the first machine is left to lean on
    before = _answers(project)["_commit"]
    run([str(new_dlproj), "update"], cwd=project, env=mate_env)
    assert TEMPLATE_CHANGE in (project / ".gitignore").read_text()
    assert "My notes." in (project / "README.md").read_text()
    assert _answers(project)["_commit"] != before
    git(project, "commit", "-qam", "update template")

    # The first dlproj cannot update a project that the newer one has moved on.
    refused = run([str(old_dlproj), "update"], cwd=project, env=mate_env, check=False)
    assert refused.returncode == 5, refused.stderr
    assert "newer dlproj" in refused.stderr
    assert run([str(new_dlproj), "check"], cwd=project, env=mate_env, check=False).returncode == 0
