"""Every tooling option really runs on a generated project: the tool itself, offline.

The tools share one environment (tests/slow/conftest.py's ``project_env``): the PyTorch packages
plus every package the tooling answers add, read from the pyproject.toml of a project with all
tools on. Each test renders its own project, so tools that write files (DVC, sweeps, mkdocs)
never meet, and runs the package from ``src/`` on PYTHONPATH.
"""

from __future__ import annotations

import csv
import json
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.helpers import git, render_project
from tests.slow.conftest import Env

pytestmark = pytest.mark.slow

# Every tool on; tracking off (the framework's slow tests cover the trackers) for short runs.
ANSWERS: dict[str, object] = {
    "framework": "pytorch",
    "config_system": "hydra",
    "tracking": "none",
    "env_manager": "uv",
    "docker": True,
    "ci": "github",
    "pre_commit": True,
    "dvc": True,
    "docs": "mkdocs",
    "notebooks": True,
    "serving": "fastapi",
    "cluster": "slurm",
}
PACKAGE = "demo_project"
QUICK = "trainer.epochs=1"
# Tools stay offline and quiet.
QUIET = {"DVC_NO_ANALYTICS": "1", "DO_NOT_TRACK": "1", "NO_MKDOCS_2_WARNING": "1"}


def _timed(label: str, started: float) -> None:
    """Print how long a tool took (visible with -s; CI logs keep it)."""
    sys.stdout.write(f"\n[tooling] {label}: {time.monotonic() - started:.1f}s\n")


@pytest.fixture(scope="module")
def tool_env(project_env: Callable[..., Env], tmp_path_factory: pytest.TempPathFactory) -> Env:
    """The PyTorch environment plus every package the tooling answers add (built once)."""
    reference = render_project(tmp_path_factory.mktemp("reference"), **ANSWERS)
    pyproject = tomllib.loads((reference / "pyproject.toml").read_text())["project"]
    packages = [*pyproject["dependencies"], *pyproject["optional-dependencies"]["dev"]]
    return project_env("pytorch", extra=tuple(packages))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh all-tools project, committed to a new git repository."""
    path = render_project(tmp_path, **ANSWERS)
    git(path, "init", "--quiet")
    git(path, "add", "-A")
    git(path, "commit", "--quiet", "-m", "Initial project")
    return path


def _results(runs_dir: Path) -> list[Path]:
    return sorted(runs_dir.glob("*/metrics/results.json"))


def test_pre_commit_passes_and_changes_nothing(project: Path, tool_env: Env) -> None:
    """`pre-commit run --all-files` passes on a fresh project and leaves every file as it was."""
    started = time.monotonic()
    proc = tool_env.run(
        ["pre-commit", "run", "--all-files", "--show-diff-on-failure"],
        project,
        env=QUIET | {"PRE_COMMIT_HOME": str(project.parent / "pre-commit-home")},
        check=False,
    )
    _timed("pre-commit run --all-files", started)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for hook in ("ruff check", "ruff format", "nbstripout", "check YAML", "large files"):
        assert hook in proc.stdout
    assert git(project, "status", "--porcelain") == ""


def test_dvc_repro_runs_then_does_nothing(project: Path, tool_env: Env) -> None:
    """`dvc repro` runs data -> train -> evaluate and writes dvc.lock; a second run skips all."""
    params = project / "configs" / "trainer" / "default.yaml"
    config = yaml.safe_load(params.read_text())
    config["epochs"] = 1  # a parameter change DVC tracks: keeps the test short
    params.write_text(yaml.safe_dump(config, sort_keys=False))

    started = time.monotonic()
    first = tool_env.run(["dvc", "repro"], project, env=QUIET)
    _timed("dvc repro (first: 3 stages)", started)
    for stage in ("data", "train", "evaluate"):
        assert f"Running stage '{stage}'" in first.stdout, first.stdout
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    assert set(lock["stages"]) == {"data", "train", "evaluate"}
    assert (project / "models" / "final_model.onnx").is_file()
    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0

    started = time.monotonic()
    second = tool_env.run(["dvc", "repro"], project, env=QUIET)
    _timed("dvc repro (second: nothing to do)", started)
    assert "Running stage" not in second.stdout, second.stdout
    assert "Data and pipelines are up to date" in second.stdout
    assert "accuracy" in tool_env.run(["dvc", "metrics", "show"], project, env=QUIET).stdout


def test_mkdocs_build_strict(project: Path, tool_env: Env) -> None:
    """`make docs` builds the site with --strict (no broken links or missing pages)."""
    started = time.monotonic()
    tool_env.make(project, "docs", env=QUIET)
    _timed("make docs (mkdocs build --strict)", started)
    assert (project / "site" / "model_card" / "index.html").is_file()


NOTEBOOK_RUNNER = """
import sys
import nbformat
from nbclient import NotebookClient
for path in sys.argv[1:]:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": "notebooks"}})
    client.execute()
    errors = [out for cell in notebook.cells for out in cell.get("outputs", [])
              if out.get("output_type") == "error"]
    assert not errors, (path, errors)
    print(path, "ran")
"""


def test_notebooks_run_top_to_bottom(project: Path, tool_env: Env) -> None:
    """Both notebooks execute in a fresh kernel started in notebooks/, against the package."""
    notebooks = sorted(p.relative_to(project).as_posix() for p in project.glob("notebooks/*.ipynb"))
    assert len(notebooks) == 2
    started = time.monotonic()
    proc = tool_env.run(["python", "-c", NOTEBOOK_RUNNER, *notebooks], project)
    _timed("notebooks (nbclient, both)", started)
    assert proc.stdout.count(" ran") == 2
    assert (project / "data" / "processed" / "train.npz").is_file()  # 1.0 ran the processing
    assert git(project, "status", "--porcelain") == ""  # executed in memory: files untouched


def test_fastapi_app_tests_pass(project: Path, tool_env: Env) -> None:
    """The generated TestClient tests of the serving app pass."""
    started = time.monotonic()
    proc = tool_env.run(
        ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_serving.py"],
        project,
    )
    _timed("FastAPI TestClient tests", started)
    assert "4 passed" in proc.stdout


SERVE_TRAINED = f"""
import numpy as np
from fastapi.testclient import TestClient
from {PACKAGE}.serving.app import app
with np.load("data/interim/test.npz") as data:
    images = data["images"][:4]
with TestClient(app) as client:
    assert client.get("/health").status_code == 200
    answer = client.post("/predict", json={{"images": images.tolist()}})
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["predictions"]) == 4
print("served")
"""


def test_fastapi_serves_the_trained_model(project: Path, tool_env: Env) -> None:
    """After `make data train`, /health and /predict answer from models/final_model.onnx."""
    tool_env.make(project, "data")
    tool_env.make(project, "train", args=QUICK)
    assert "served" in tool_env.run(["python", "-c", SERVE_TRAINED], project).stdout


def test_submitit_local_launcher_runs_a_job(project: Path, tool_env: Env) -> None:
    """`-m hydra/launcher=submitit_local` runs a real job through submitit and writes its run."""
    tool_env.make(project, "data")
    started = time.monotonic()
    tool_env.run(
        ["python", "-m", f"{PACKAGE}.main", "-m", "hydra/launcher=submitit_local", QUICK], project
    )
    _timed("submitit_local job", started)
    runs = project / "outputs" / "experiments"
    (result,) = _results(runs)
    assert json.loads(result.read_text())["epochs_run"] == 1
    assert any((runs / ".submitit").iterdir()), "submitit wrote no job folder"


def test_slurm_launcher_config_composes(project: Path, tool_env: Env) -> None:
    """hydra/launcher=slurm resolves to submitit's SLURM launcher with the project's settings."""
    proc = tool_env.run(
        ["python", "-m", f"{PACKAGE}.main", "hydra/launcher=slurm", "--cfg", "hydra"], project
    )
    launcher = yaml.safe_load(proc.stdout)["hydra"]["launcher"]
    assert launcher["_target_"].endswith("SlurmLauncher")
    assert launcher["timeout_min"] == 120


def test_sweep_then_compare(project: Path, tool_env: Env) -> None:
    """`make sweep` launches two runs; `make compare` tables (Markdown, CSV) and plots them."""
    tool_env.make(project, "data")
    started = time.monotonic()
    tool_env.make(project, "sweep", args=QUICK)
    _timed("make sweep (2 runs)", started)
    results = _results(project / "outputs" / "experiments")
    assert {json.loads(p.read_text())["model"] for p in results} == {"cnn", "transformer"}

    started = time.monotonic()
    tool_env.make(project, "compare")
    _timed("make compare", started)
    out = project / "outputs" / "comparison"
    table = (out / "comparison.md").read_text()
    assert table.count("\n") == 4  # header, rule, two runs
    assert "test_accuracy" in table
    with (out / "comparison.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {row["model"] for row in rows} == {"cnn", "transformer"}
    assert (out / "comparison.png").read_bytes()[:4] == b"\x89PNG"
