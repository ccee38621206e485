"""dlproj's GitHub workflow is valid, and its matrices come from the template itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from dlproj.options import load_questions
from dlproj.variants import build_variants

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
COPIER_YML = REPO_ROOT / "templates" / "default" / "copier.yml"


def _workflow() -> dict[str, Any]:
    workflow: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return workflow


def _step_runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_workflow_matches_the_github_schema() -> None:
    schema = ["--builtin-schema", "vendor.github-workflows"]
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", *schema, str(WORKFLOW)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflow_has_every_job() -> None:
    jobs = _workflow()["jobs"]
    assert {"lint", "unit", "matrix", "variant", "gen", "slow", "docs"} <= set(jobs)
    assert "ruff check" in _step_runs(jobs["lint"])
    assert "ruff format --check" in _step_runs(jobs["lint"])
    assert "mkdocs build --strict" in _step_runs(jobs["docs"])
    assert "gen_pages.py --check" in _step_runs(jobs["docs"])


def test_matrix_jobs_read_the_matrix_job_outputs() -> None:
    jobs = _workflow()["jobs"]
    variant, slow = jobs["variant"], jobs["slow"]
    assert variant["strategy"]["matrix"]["variant"] == (
        "${{ fromJSON(needs.matrix.outputs.variants) }}"
    )
    assert slow["strategy"]["matrix"]["framework"] == (
        "${{ fromJSON(needs.matrix.outputs.frameworks) }}"
    )
    assert "tests/gen/test_variants.py::test_variant_renders_clean[" in _step_runs(variant)
    assert "def test_variant_renders_clean(" in (
        REPO_ROOT / "tests" / "gen" / "test_variants.py"
    ).read_text(encoding="utf-8")
    assert '-m "slow and not gpu" -k "$FRAMEWORK"' in _step_runs(slow)


def test_matrix_step_outputs_every_variant_and_framework(tmp_path: Path) -> None:
    (step,) = [s for s in _workflow()["jobs"]["matrix"]["steps"] if s.get("id") == "matrix"]
    output = tmp_path / "github_output"
    env = {
        **os.environ,
        "GITHUB_OUTPUT": str(output),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    subprocess.run(
        ["bash", "-euo", "pipefail", "-c", step["run"]],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    questions = load_questions(COPIER_YML)
    (framework,) = [q for q in questions if q.name == "framework"]
    assert json.loads(outputs["variants"]) == [v.id for v in build_variants(questions)]
    assert json.loads(outputs["frameworks"]) == list(framework.values)
