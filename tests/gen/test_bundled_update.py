"""`dlproj update` on projects made from the bundled template (installed from the checkout)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers import git, invoke

pytestmark = pytest.mark.gen


@pytest.fixture
def project(tmp_path: Path) -> Path:
    code, _, err = invoke("new", "demo", "--defaults", "-o", str(tmp_path))
    assert code == 0, err
    return tmp_path / "demo"


def _answers(project: Path) -> dict[str, object]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def test_fresh_project_is_up_to_date_and_a_no_op_update_changes_nothing(project: Path) -> None:
    assert invoke("check", str(project))[0] == 0
    code, _, err = invoke("update", str(project))
    assert code == 0, err
    assert "Already up to date" in err
    assert git(project, "status", "--porcelain") == ""


def test_turn_docker_off_and_on_again(project: Path) -> None:
    code, _, err = invoke("update", str(project), "--data", "docker=false")
    assert code == 0, err
    assert not (project / "Dockerfile").exists()
    assert _answers(project)["docker"] is False
    git(project, "commit", "-qam", "no docker")
    code, _, err = invoke("update", str(project), "--data", "docker=true")
    assert code == 0, err
    assert (project / "Dockerfile").is_file()
    assert _answers(project)["docker"] is True


def test_swap_the_tracker(project: Path) -> None:
    code, _, err = invoke("update", str(project), "--data", "tracking=mlflow")
    assert code == 0, err
    assert _answers(project)["tracking"] == "mlflow"
    assert (project / "configs/tracking/mlflow.yaml").is_file()
    assert not (project / "configs/tracking/tensorboard.yaml").exists()
    assert "mlflow" in (project / "pyproject.toml").read_text()
    assert "tensorboard" not in (project / "pyproject.toml").read_text()


def test_bad_answer_in_update_exits_3_unchanged(project: Path) -> None:
    code, _, err = invoke("update", str(project), "--data", "tracking=neptune")
    assert code == 3
    assert "tensorboard, mlflow, wandb, none" in " ".join(err.split())
    assert git(project, "status", "--porcelain") == ""


def test_project_from_a_newer_dlproj_is_refused(project: Path) -> None:
    answers = project / ".copier-answers.yml"
    text = answers.read_text()
    commit = str(_answers(project)["_commit"])
    answers.write_text(text.replace(f"_commit: {commit}", "_commit: " + "ab" * 20))
    git(project, "commit", "-qam", "pretend a newer template made this")
    code, _, err = invoke("update", str(project))
    assert code == 5
    assert "newer dlproj" in err
    assert git(project, "status", "--porcelain") == ""
