"""Every tooling option really runs on a generated project: the tool itself, offline.

One environment holds the dependencies of a project with every tool switched on (built once,
shared by xdist workers through a file lock). Each test renders its own project, so tools that
write files (DVC, sweeps, mkdocs) never meet, and runs the package from ``src/`` on PYTHONPATH.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from filelock import FileLock

from tests.helpers import git, render_project, run

pytestmark = pytest.mark.slow

# Every tool on; tracking off (the tracker slow tests cover tracking) to keep the runs short.
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


@dataclass(frozen=True)
class ToolEnv:
    """A virtual environment with the project's runtime and dev dependencies."""

    venv: Path

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    def env(self, project: Path) -> dict[str, str]:
        """Environment for commands in ``project``: venv tools first, package from src/."""
        return {
            "PATH": f"{self.venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "VIRTUAL_ENV": str(self.venv),
            "PYTHONPATH": str(project / "src"),
            "MPLBACKEND": "Agg",
            "PYTHONDONTWRITEBYTECODE": "1",
        }


def _timed(label: str, started: float) -> None:
    """Print how long a tool took (shown with -s or -rA; CI logs keep it)."""
    sys.stdout.write(f"\n[tooling] {label}: {time.monotonic() - started:.1f}s\n")


@pytest.fixture(scope="session")
def tool_env(tmp_path_factory: pytest.TempPathFactory) -> ToolEnv:
    """Install the all-tools project's pinned dependencies once per session (xdist-safe)."""
    shared = tmp_path_factory.getbasetemp().parent
    reference = render_project(tmp_path_factory.mktemp("reference"), **ANSWERS)
    pyproject = (reference / "pyproject.toml").read_bytes()
    venv = shared / f"tooling-venv-{hashlib.sha256(pyproject).hexdigest()[:12]}"
    with FileLock(str(venv) + ".lock"):
        if not (venv / ".complete").exists():
            started = time.monotonic()
            run(["uv", "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=shared)
            run(
                ["uv", "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
                 "-r", "pyproject.toml", "--extra", "dev"],
                cwd=reference,
                timeout=1800,
            )  # fmt: skip
            (venv / ".complete").write_text("ok\n")
            _timed("install dependencies", started)
    return ToolEnv(venv)


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


def test_pre_commit_passes_and_changes_nothing(project: Path, tool_env: ToolEnv) -> None:
    """`pre-commit run --all-files` passes on a fresh project and leaves every file as it was."""
    started = time.monotonic()
    proc = run(
        ["pre-commit", "run", "--all-files", "--show-diff-on-failure"],
        cwd=project,
        env=tool_env.env(project) | {"PRE_COMMIT_HOME": str(project.parent / "pre-commit")},
        check=False,
    )
    _timed("pre-commit run --all-files", started)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for hook in ("ruff check", "ruff format", "nbstripout", "check YAML", "large files"):
        assert hook in proc.stdout
    assert git(project, "status", "--porcelain") == ""


def test_dvc_repro_runs_then_does_nothing(project: Path, tool_env: ToolEnv) -> None:
    """`dvc repro` runs data -> train -> evaluate and writes dvc.lock; a second run skips all."""
    params = project / "configs" / "trainer" / "default.yaml"
    config = yaml.safe_load(params.read_text())
    config["epochs"] = 2  # a parameter change DVC tracks: keeps the test short
    params.write_text(yaml.safe_dump(config, sort_keys=False))
    env = tool_env.env(project)

    started = time.monotonic()
    first = run(["dvc", "repro"], cwd=project, env=env)
    _timed("dvc repro (first)", started)
    for stage in ("data", "train", "evaluate"):
        assert f"Running stage '{stage}'" in first.stdout, first.stdout
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    assert set(lock["stages"]) == {"data", "train", "evaluate"}
    assert (project / "models" / "final_model.onnx").is_file()
    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0

    started = time.monotonic()
    second = run(["dvc", "repro"], cwd=project, env=env)
    _timed("dvc repro (second)", started)
    assert "Running stage" not in second.stdout, second.stdout
    assert "Data and pipelines are up to date" in second.stdout
    assert "accuracy" in run(["dvc", "metrics", "show"], cwd=project, env=env).stdout


def test_mkdocs_build_strict(project: Path, tool_env: ToolEnv) -> None:
    """The documentation site builds with --strict (no broken links or missing pages)."""
    started = time.monotonic()
    run(["make", "docs", f"PYTHON={tool_env.python}"], cwd=project, env=tool_env.env(project))
    _timed("mkdocs build --strict", started)
    assert (project / "site" / "model_card" / "index.html").is_file()


def test_notebooks_run_top_to_bottom(project: Path, tool_env: ToolEnv) -> None:
    """Both notebooks execute in a fresh kernel from notebooks/, against the package."""
    script = (
        "import sys, nbformat\n"
        "from nbclient import NotebookClient\n"
        "for path in sys.argv[1:]:\n"
        "    nb = nbformat.read(path, as_version=4)\n"
        "    NotebookClient(nb, timeout=600, kernel_name='python3',\n"
        "                   resources={'metadata': {'path': 'notebooks'}}).execute()\n"
        "    errors = [o for c in nb.cells for o in c.get('outputs', [])\n"
        "              if o.get('output_type') == 'error']\n"
        "    assert not errors, (path, errors)\n"
        "    print(path, 'ok')\n"
    )
    notebooks = sorted(str(p.relative_to(project)) for p in (project / "notebooks").glob("*.ipynb"))
    assert len(notebooks) == 2
    started = time.monotonic()
    proc = run([tool_env.python, "-c", script, *notebooks], cwd=project,
               env=tool_env.env(project))  # fmt: skip
    _timed("notebooks (nbclient)", started)
    assert proc.stdout.count(" ok") == 2
    assert (project / "data" / "processed" / "train.npz").is_file()  # 1.0 ran the processing
    assert git(project, "status", "--porcelain") == ""  # executed in memory: files untouched


def test_fastapi_app_test_passes(project: Path, tool_env: ToolEnv) -> None:
    """The generated TestClient test of the serving app passes."""
    started = time.monotonic()
    proc = run([tool_env.python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "tests/test_serving.py"], cwd=project, env=tool_env.env(project))  # fmt: skip
    _timed("FastAPI TestClient tests", started)
    assert "4 passed" in proc.stdout


def test_fastapi_serves_a_trained_model(project: Path, tool_env: ToolEnv) -> None:
    """After `make data` and a one-epoch training, /predict answers from models/final_model.onnx."""
    env = tool_env.env(project)
    run(["make", "data", f"PYTHON={tool_env.python}"], cwd=project, env=env)
    run(["make", "train", f"PYTHON={tool_env.python}", f"ARGS={QUICK}"], cwd=project, env=env)
    script = (
        "import numpy as np\n"
        "from fastapi.testclient import TestClient\n"
        f"from {PACKAGE}.serving.app import app\n"
        "with np.load('data/interim/test.npz') as data:\n"
        "    images = data['images'][:4]\n"
        "with TestClient(app) as client:\n"
        "    assert client.get('/health').status_code == 200\n"
        "    answer = client.post('/predict', json={'images': images.tolist()})\n"
        "    assert answer.status_code == 200, answer.text\n"
        "    assert len(answer.json()['predictions']) == 4\n"
        "print('served')\n"
    )
    assert "served" in run([tool_env.python, "-c", script], cwd=project, env=env).stdout


def test_submitit_local_launcher_runs_a_job(project: Path, tool_env: ToolEnv) -> None:
    """`-m hydra/launcher=submitit_local` runs a real job through submitit and writes its run."""
    started = time.monotonic()
    run([tool_env.python, "-m", f"{PACKAGE}.data.processing"], cwd=project,
        env=tool_env.env(project))  # fmt: skip
    run(
        [tool_env.python, "-m", f"{PACKAGE}.main", "-m", "hydra/launcher=submitit_local", QUICK],
        cwd=project,
        env=tool_env.env(project),
    )
    _timed("submitit_local job", started)
    runs = project / "outputs" / "experiments"
    (result,) = _results(runs)
    assert json.loads(result.read_text())["epochs_run"] == 1
    assert any((runs / ".submitit").iterdir()), "submitit wrote no job folder"


def test_slurm_launcher_config_composes(project: Path, tool_env: ToolEnv) -> None:
    """hydra/launcher=slurm resolves to the submitit SLURM launcher with our settings."""
    proc = run(
        [tool_env.python, "-m", f"{PACKAGE}.main", "hydra/launcher=slurm", "--cfg", "hydra"],
        cwd=project,
        env=tool_env.env(project),
    )
    launcher = yaml.safe_load(proc.stdout)["hydra"]["launcher"]
    assert launcher["_target_"].endswith("SlurmLauncher")
    assert launcher["timeout_min"] == 120


def test_sweep_then_compare(project: Path, tool_env: ToolEnv) -> None:
    """`make sweep` launches two runs; compare_experiments.py tables and plots them."""
    env = tool_env.env(project)
    run(["make", "data", f"PYTHON={tool_env.python}"], cwd=project, env=env)
    started = time.monotonic()
    run(["make", "sweep", f"PYTHON={tool_env.python}", f"ARGS={QUICK}"], cwd=project, env=env)
    _timed("make sweep (2 runs)", started)
    runs = project / "outputs" / "experiments"
    results = _results(runs)
    assert len(results) == 2
    assert {json.loads(p.read_text())["model"] for p in results} == {"cnn", "transformer"}

    started = time.monotonic()
    run(["make", "compare", f"PYTHON={tool_env.python}"], cwd=project, env=env)
    _timed("compare_experiments.py", started)
    out = project / "outputs" / "comparison"
    table = (out / "comparison.md").read_text()
    assert table.count("\n") == 4  # header, rule, two runs
    assert "test_accuracy" in table
    with (out / "comparison.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {row["model"] for row in rows} == {"cnn", "transformer"}
    assert (out / "comparison.png").read_bytes()[:4] == b"\x89PNG"


@pytest.fixture(autouse=True)
def _no_network_tools(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep tools quiet and offline: no DVC analytics, no update checks."""
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    yield
