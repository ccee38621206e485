"""`dlproj update` and `dlproj check` on real template histories in real git repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.helpers import commit_template, git, invoke, make_template_repo, snapshot

pytestmark = pytest.mark.gen

README_V1 = "# {{ project_name }}\n\nline a\n\nintro\n\nmore\n\nline b\nline c\n"
V1 = {
    "README.md.jinja": README_V1,
    "config.txt": "x=1\ny=2\nz=3\n",
    "{% if docker %}Dockerfile{% endif %}": "FROM python:3.11-slim\n",
}
V2 = {
    "README.md.jinja": README_V1.replace("line b", "line B (v2)"),
    "config.txt": "x=1\ny=2\nz=30\n",
    "NEW.md": "added in v2\n",
}
DOCKER_QUESTION = "docker:\n  type: bool\n  default: false\n"


@pytest.fixture
def template(tmp_path: Path) -> Path:
    return make_template_repo(tmp_path / "tpl", V1, config=DOCKER_QUESTION)


@pytest.fixture
def project(tmp_path: Path, template: Path) -> Path:
    """A project made from template v1 and committed, like a user's repository."""
    code, _, err = invoke(
        "new", "proj", "--defaults", "-o", str(tmp_path), "--template", str(template),
        "--vcs-ref", "v1",
    )  # fmt: skip
    assert code == 0, err
    return tmp_path / "proj"


def _answers(project: Path) -> dict[str, object]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def _commit_all(project: Path, message: str) -> None:
    git(project, "add", "-A")
    git(project, "commit", "-qm", message)


def test_update_merges_template_changes_and_keeps_user_work(project: Path, template: Path) -> None:
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("line a", "line A (mine)"))
    (project / "user.txt").write_text("my own file\n")
    (project / "config.txt").unlink()
    _commit_all(project, "my edits")
    commit_template(template, V2, "v2")

    code, _, err = invoke("update", str(project))
    assert code == 0, err
    text = readme.read_text()
    assert "line A (mine)" in text
    assert "line B (v2)" in text
    assert (project / "user.txt").read_text() == "my own file\n"
    assert not (project / "config.txt").exists()
    assert (project / "NEW.md").read_text() == "added in v2\n"
    assert _answers(project)["_commit"] == "v2"


def test_conflicts_are_listed_exit_6_and_left_for_git_diff(project: Path, template: Path) -> None:
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("line b", "line b, my way"))
    _commit_all(project, "conflicting edit")
    commit_template(template, V2, "v2")

    code, _, err = invoke("update", str(project))
    assert code == 6
    assert "README.md" in err
    diff = git(project, "diff", "--", "README.md")
    assert "<<<<<<<" in diff
    assert "line b, my way" in diff
    assert "line B (v2)" in diff


def test_vcs_ref_picks_the_version(project: Path, template: Path) -> None:
    commit_template(template, V2, "v2")
    commit_template(template, {"NEW.md": "v3\n"}, "v3")
    code, _, err = invoke("update", str(project), "--vcs-ref", "v2")
    assert code == 0, err
    assert _answers(project)["_commit"] == "v2"


def test_check_reports_behind_then_up_to_date(project: Path, template: Path) -> None:
    code, _, _ = invoke("check", str(project))
    assert code == 0
    commit_template(template, V2, "v2")
    code, out, _ = invoke("check", str(project), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["current"] == "v1"
    assert report["latest"] == "v2"
    assert report["up_to_date"] is False
    assert invoke("update", str(project))[0] == 0
    _commit_all(project, "update")
    assert invoke("check", str(project))[0] == 0


def test_pretend_lists_changes_and_writes_nothing(project: Path, template: Path) -> None:
    commit_template(template, V2, "v2")
    before = snapshot(project)
    code, _, err = invoke("update", str(project), "--pretend")
    assert code == 0, err
    assert "NEW.md" in err
    assert "Would change" in err
    assert snapshot(project) == before


def test_turning_a_component_on_and_off(project: Path) -> None:
    code, _, err = invoke("update", str(project), "--data", "docker=true")
    assert code == 0, err
    assert (project / "Dockerfile").is_file()
    assert _answers(project)["docker"] is True
    _commit_all(project, "docker on")

    code, _, err = invoke("update", str(project), "--data", "docker=false")
    assert code == 0, err
    assert not (project / "Dockerfile").exists()
    assert _answers(project)["docker"] is False


def test_turning_off_an_edited_component_keeps_the_file(project: Path) -> None:
    assert invoke("update", str(project), "--data", "docker=true")[0] == 0
    (project / "Dockerfile").write_text("FROM python:3.11-slim\nRUN echo mine\n")
    _commit_all(project, "docker on, edited")
    code, _, err = invoke("update", str(project), "--data", "docker=false")
    assert code == 0, err
    assert "RUN echo mine" in (project / "Dockerfile").read_text()
    assert "Kept Dockerfile" in err
    assert _answers(project)["docker"] is False


def test_dirty_tree_is_refused_and_unchanged(project: Path, template: Path) -> None:
    commit_template(template, V2, "v2")
    (project / "config.txt").write_text("uncommitted\n")
    before = snapshot(project)
    code, _, err = invoke("update", str(project))
    assert code == 5
    assert "uncommitted changes" in err
    assert snapshot(project) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no .copier-answers.yml"), ("{[: not yaml", "corrupt"), ("- a list\n", "lacks")],
    ids=["missing", "corrupt", "wrong-shape"],
)
def test_bad_answers_file_is_refused(project: Path, content: str | None, message: str) -> None:
    answers = project / ".copier-answers.yml"
    if content is None:
        answers.unlink()
    else:
        answers.write_text(content)
    _commit_all(project, "break answers")
    before = snapshot(project)
    code, _, err = invoke("update", str(project))
    assert code == 5
    assert message in err
    assert snapshot(project) == before


def test_unreachable_source_exits_4_unchanged(project: Path, tmp_path: Path) -> None:
    answers = project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace(str(tmp_path / "tpl"), str(tmp_path / "gone")))
    _commit_all(project, "point at a missing template")
    before = snapshot(project)
    code, _, err = invoke("update", str(project))
    assert code == 4
    assert "cannot be reached" in err
    assert snapshot(project) == before


def test_third_party_migrations_need_trust(project: Path, template: Path) -> None:
    migration = "_migrations:\n  - version: v2\n    before:\n      - touch migrated\n"
    copier_yml = (template / "copier.yml").read_text() + migration
    commit_template(template, {**V2, "copier.yml": copier_yml}, "v2")
    before = snapshot(project)
    code, _, err = invoke("update", str(project))
    assert code == 4
    assert "--trust" in err
    assert snapshot(project) == before
    code, _, err = invoke("update", str(project), "--trust")
    assert code == 0, err
    assert (project / "migrated").exists()
