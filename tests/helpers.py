"""Helpers shared by dlproj's tests: real copier renders of the working-tree template."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import copier
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DIR = REPO_ROOT / "templates" / "default"


def render_project(parent: Path, project_name: str = "demo-project", **answers: Any) -> Path:
    """Render the working-tree template with defaults plus ``answers`` into ``parent/project_name``.

    The template directory is not a git repository root, so copier renders the files as they are
    on disk: tests see uncommitted template edits.
    """
    dst = parent / project_name
    copier.run_copy(
        str(TEMPLATE_DIR),
        dst,
        data={"project_name": project_name, **answers},
        defaults=True,
        quiet=True,
        unsafe=False,
    )
    return dst


def run(
    cmd: list[str] | str,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 900,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing output; on failure the assertion shows stdout and stderr."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=full_env,
        text=True,
        capture_output=True,
        timeout=timeout,
        shell=isinstance(cmd, str),
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"command failed ({proc.returncode}): {cmd}\n--- stdout ---\n{proc.stdout[-6000:]}"
            f"\n--- stderr ---\n{proc.stderr[-6000:]}"
        )
    return proc


PYTHON = sys.executable


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for folders): equal snapshots, same tree.

    git's index is left out: a read-only ``git status`` may refresh its cached file stats.
    """
    return {
        path.relative_to(root).as_posix(): None if path.is_dir() else path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.relative_to(root).as_posix() != ".git/index"
    }


def invoke(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    """Run the CLI in-process, the way a user would type it; returns (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from dlproj.cli import app

    runner = CliRunner()
    previous = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = runner.invoke(app, list(args), catch_exceptions=False)
    finally:
        os.chdir(previous)
    return result.exit_code, result.stdout, result.stderr


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` (the test's git identity comes from pytest-gitconfig)."""
    return run(["git", *args], cwd=cwd).stdout.strip()


def make_template_repo(
    root: Path, files: dict[str, str], config: str = "", tag: str = "v1"
) -> Path:
    """A small third-party copier template in its own git repository, with one tagged commit."""
    root.mkdir(parents=True)
    (root / "copier.yml").write_text("project_name:\n  type: str\n" + config)
    (root / "{{_copier_conf.answers_file}}.jinja").write_text(
        "{{ _copier_answers|to_nice_yaml -}}\n"
    )
    return commit_template(root, files, tag)


def commit_template(root: Path, files: dict[str, str | None], tag: str) -> Path:
    """Write (or, for None, delete) template files, commit them and tag the commit."""
    for name, text in files.items():
        path = root / name
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if not (root / ".git").exists():
        git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", f"template {tag}")
    git(root, "tag", tag)
    return root


def project_files(project: Path) -> list[Path]:
    """Every file of a rendered project, outside .git."""
    return [p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts]


def assert_parses(path: Path) -> None:
    """YAML, TOML, JSON and notebook files must load; other files are left alone."""
    text = path.read_text(encoding="utf-8")
    if path.suffix in {".yaml", ".yml"}:
        list(yaml.safe_load_all(text))
    elif path.suffix == ".toml":
        tomllib.loads(text)
    elif path.suffix in {".json", ".ipynb"}:
        json.loads(text)
