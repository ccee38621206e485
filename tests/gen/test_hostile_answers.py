"""Answers that look like code are text: they render literally and every file still parses."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.helpers import assert_parses, invoke, project_files

pytestmark = pytest.mark.gen

DESCRIPTION = (
    "Digits {{ 7*7 }} {% if x %}y{% endif %} \"quoted\" 'single' back\\slash: yes # no\n"
    "second line - [a, b] {c: d} & <tag> ünïcödé ✓"
)
AUTHOR = 'O\'Brien "The Tester" {{ author }}'


@pytest.mark.parametrize("serving", ["none", "fastapi"])
def test_code_like_answers_render_literally(tmp_path: Path, serving: str) -> None:
    code, _, err = invoke(
        "new", "demo", "--defaults", "--no-git", "-o", str(tmp_path),
        "--data", f"description={DESCRIPTION}", "--data", f"author_name={AUTHOR}",
        "--data", f"serving={serving}",
    )  # fmt: skip
    assert code == 0, err
    project = tmp_path / "demo"

    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    project_table = pyproject.get("project") or pyproject["tool"]["poetry"]
    assert project_table["description"] == DESCRIPTION
    readme = (project / "README.md").read_text()
    assert DESCRIPTION.splitlines()[0] in readme  # "{{ 7*7 }}" stays text, never 49

    for path in project_files(project):
        assert_parses(path)
    if (project / "mkdocs.yml").exists():
        mkdocs = yaml.safe_load((project / "mkdocs.yml").read_text())
        assert mkdocs["site_description"] == DESCRIPTION
        assert mkdocs["site_author"] == AUTHOR
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(project / "src")],
        check=True, capture_output=True,
    )  # fmt: skip
    init = (project / "src/demo/__init__.py").read_text()
    namespace: dict[str, object] = {}
    exec(compile(init, "__init__.py", "exec"), namespace)
    assert namespace["__doc__"] == DESCRIPTION
