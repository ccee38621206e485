"""Every variant of `dlproj variants` renders into a project that parses, lints and is complete."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from dlproj.options import load_questions
from dlproj.variants import PROJECT_NAME, build_variants
from tests.helpers import TEMPLATE_DIR, assert_parses, project_files, render_project

QUESTIONS = load_questions(TEMPLATE_DIR / "copier.yml")
VARIANTS = build_variants(QUESTIONS)
PACKAGE = PROJECT_NAME.replace("-", "_")

# Files an answer promises (value -> paths) and, for every other value, excludes.
PROMISED: dict[str, dict[Any, list[str]]] = {
    "docker": {True: ["Dockerfile", ".dockerignore"]},
    "dvc": {True: ["dvc.yaml", ".dvc/config", ".dvcignore"]},
    "pre_commit": {True: [".pre-commit-config.yaml"]},
    "ci": {"github": [".github/workflows/ci.yml"], "gitlab": [".gitlab-ci.yml"]},
    "docs": {"mkdocs": ["mkdocs.yml"]},
    "notebooks": {
        True: ["notebooks/1.0-data-exploration.ipynb", "notebooks/2.0-model-prototyping.ipynb"]
    },
    "serving": {"fastapi": [f"src/{PACKAGE}/serving/app.py"]},
    "env_manager": {"pip": ["requirements.txt"], "conda": ["environment.yml"]},
    "license": {"MIT": ["LICENSE"], "Apache-2.0": ["LICENSE"], "BSD-3-Clause": ["LICENSE"]},
}
ALLOWED_EMPTY = {"__init__.py", "py.typed", ".gitkeep"}
JINJA_LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|\{#")


def _check_notebook(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name} has outputs"
            assert cell.get("execution_count") is None


@pytest.mark.gen
@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_variant_renders_clean(variant: Any, tmp_path: Path) -> None:
    project = render_project(tmp_path, PROJECT_NAME, **variant.answers)
    answers = variant.answers

    for key, promised in PROMISED.items():
        wanted = set(promised.get(answers[key], []))
        excluded = {rel for paths in promised.values() for rel in paths} - wanted
        for rel in wanted:
            assert (project / rel).exists(), f"{rel} missing with {key}={answers[key]}"
        for rel in excluded:
            assert not (project / rel).exists(), f"{rel} present with {key}={answers[key]}"

    for path in project_files(project):
        rel = path.relative_to(project).as_posix()
        data = path.read_bytes()
        if not data.strip():
            assert path.name in ALLOWED_EMPTY, f"empty file {rel}"
            continue
        text = data.decode("utf-8")
        assert not JINJA_LEFTOVER.search(text), f"Jinja left in {rel}"
        assert_parses(path)
        if path.suffix == ".ipynb":
            _check_notebook(path)
    for folder in (p for p in project.rglob("*") if p.is_dir() and ".git" not in p.parts):
        assert any(folder.iterdir()), f"empty folder {folder.relative_to(project)}"

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(project)], check=True, capture_output=True
    )
    for command in (["check", "."], ["format", "--check", "."]):
        proc = subprocess.run(
            ["ruff", *command], cwd=project, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_variants_cover_every_value_and_every_legal_pair() -> None:
    from dlproj.variants import _resolve_legal

    axes = [q for q in QUESTIONS if q.values and not q.derived]
    assert 10 <= len(VARIANTS) <= 99
    seen_pairs = set()
    for variant in VARIANTS:
        items = sorted((k, str(v)) for k, v in variant.answers.items())
        seen_pairs.update(combinations(items, 2))
    for a, b in combinations(axes, 2):
        for va in a.values:
            for vb in b.values:
                if _resolve_legal(QUESTIONS, {a.name: va, b.name: vb}) is None:
                    continue
                pair = tuple(sorted([(a.name, str(va)), (b.name, str(vb))]))
                assert pair in seen_pairs, f"pair {pair} never rendered"


def test_illegal_combinations_are_dropped() -> None:
    for variant in VARIANTS:
        answers = variant.answers
        assert not (answers["framework"] == "jax" and answers["python_version"] == "3.10")
        assert not (answers["config_system"] == "yaml" and answers["cluster"] == "slurm")
