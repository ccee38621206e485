"""`dlproj new` end to end: real copier renders from the bundled template's git history."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers import invoke, make_template_repo, snapshot

pytestmark = pytest.mark.gen

# SEED-LAYOUT.md: what the default answers must render.
DEFAULT_LAYOUT = [
    ".gitignore", ".dockerignore", ".pre-commit-config.yaml", ".copier-answers.yml",
    ".env.example", ".dvc/config", "dvc.yaml", "data/raw/.gitkeep", "data/interim/.gitkeep",
    "data/processed/.gitkeep", "docs/index.md", "docs/model_card.md", "mkdocs.yml",
    "models/.gitkeep", "notebooks/1.0-data-exploration.ipynb",
    "notebooks/2.0-model-prototyping.ipynb", "references", "scripts/download_data.sh",
    "scripts/compare_experiments.py", "src/demo/__init__.py", "src/demo/main.py",
    "src/demo/data/dataset.py", "src/demo/data/processing.py", "src/demo/models/base_model.py",
    "src/demo/engine/trainer.py", "src/demo/engine/evaluator.py", "src/demo/engine/predictor.py",
    "src/demo/utils/logging_config.py", "src/demo/utils/metrics.py", "src/demo/utils/common.py",
    "src/demo/visualization/plotters.py", "configs/base_config.yaml",
    "configs/experiment/experiment_a.yaml", "tests/test_data.py", "tests/test_models.py",
    "tests/test_engine.py", "tests/conftest.py", "pyproject.toml", "Makefile", "Dockerfile",
    ".github/workflows/ci.yml", "README.md",
]  # fmt: skip


def _new(tmp_path: Path, *args: str, name: str = "demo") -> Path:
    code, _, err = invoke("new", name, "--defaults", "-o", str(tmp_path), *args)
    assert code == 0, err
    return tmp_path / name


def test_defaults_render_the_seed_layout(tmp_path: Path) -> None:
    project = _new(tmp_path, "--no-git")
    missing = [path for path in DEFAULT_LAYOUT if not (project / path).exists()]
    assert not missing
    models = [p.name for p in (project / "src/demo/models").glob("*.py")]
    assert len(models) >= 4  # __init__, base, a CNN and a transformer


def test_answers_file_records_a_portable_source_and_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DLPROJ_HOME")
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    project = _new(tmp_path, "--no-git")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == "~/.local/share/dlproj/templates/default.bundle"
    assert answers["_commit"]
    assert (tmp_path / "home/.local/share/dlproj/templates/default.bundle").is_file()


def _git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_new_project_gets_a_repository_and_a_first_commit(tmp_path: Path) -> None:
    project = _new(tmp_path)
    assert _git(project, "branch", "--show-current") == "main"
    assert _git(project, "status", "--porcelain") == ""
    assert "dlproj" in _git(project, "log", "--format=%s")


def test_first_commit_works_without_a_git_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("EMAIL", "")
    project = _new(tmp_path)
    assert _git(project, "log", "--format=%an") == "dlproj"


def test_inside_an_existing_repository_no_nested_repo_is_made(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    code, _, err = invoke("new", "demo", "--defaults", "-o", str(tmp_path))
    assert code == 0
    assert not (tmp_path / "demo" / ".git").exists()
    assert "uncommitted" in err


def test_force_keeps_files_the_template_does_not_own(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    project.mkdir()
    (project / "notes.txt").write_text("mine")
    (project / ".gitignore").write_text("old ignore rules")
    _new(tmp_path, "--force", "--no-git")
    assert (project / "notes.txt").read_text() == "mine"
    assert (project / ".gitignore").read_text() != "old ignore rules"
    assert (project / ".copier-answers.yml").is_file()


def test_name_goes_to_the_template_project_name(tmp_path: Path) -> None:
    source = make_template_repo(tmp_path / "tpl", {"README.md.jinja": "# {{ project_name }}\n"})
    project = _new(tmp_path, "--template", str(source), "--vcs-ref", "v1", name="mine")
    assert (project / "README.md").read_text() == "# mine\n"


def test_a_failed_render_leaves_nothing_behind(tmp_path: Path) -> None:
    source = make_template_repo(tmp_path / "tpl", {"a.txt": "ok", "z.txt.jinja": "{{ broken( }}"})
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = invoke("new", "demo", "--defaults", "-o", str(out), "--template", str(source))
    assert code == 4, err
    assert list(out.iterdir()) == []


def test_template_tasks_need_trust(tmp_path: Path) -> None:
    tasks = "_tasks:\n  - touch task-ran\n"
    source = make_template_repo(tmp_path / "tpl", {"a.txt": "ok"}, config=tasks)
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = invoke("new", "demo", "--defaults", "-o", str(out), "--template", str(source))
    assert code == 4
    assert "--trust" in err
    assert list(out.iterdir()) == []
    code, _, err = invoke(
        "new", "demo", "--defaults", "-o", str(out), "--template", str(source), "--trust"
    )
    assert code == 0, err
    assert (out / "demo" / "task-ran").exists()


def test_ctrl_c_during_render_exits_130_and_leaves_nothing(tmp_path: Path) -> None:
    # Enough files that the render is still running when the signal arrives.
    files = {f"pkg{i // 100}/file{i}.txt.jinja": "{{ project_name }}\n" * 50 for i in range(3000)}
    source = make_template_repo(tmp_path / "tpl", files)
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlproj.cli", "new", "demo", "--defaults", "--no-git",
         "-o", str(out), "--template", str(source)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(out.rglob("file1*.txt")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert snapshot(out) == {}


def test_output_off_a_terminal_is_plain_and_lists_next_steps(tmp_path: Path) -> None:
    code, out, err = invoke("new", "demo", "--defaults", "--no-git", "-o", str(tmp_path))
    assert code == 0
    assert out == ""  # stdout is for results only
    assert "\x1b[" not in err  # no colour or spinner when not on a terminal
    assert f"Created {tmp_path / 'demo'}" in err
    assert "make setup" in err
