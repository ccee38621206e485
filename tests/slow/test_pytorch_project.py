"""The default PyTorch project really works: its tests, data, training, DDP, resume, export.

Every test renders a project with the working-tree template and runs it in the shared pytorch
environment (`project_env`, tests/slow/conftest.py) through the project's own Makefile, with
PYTHON pointed at that environment. Only `test_readme_quick_start_as_a_new_user` builds the
environment the way the generated README says (`make setup`, uv).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import render_project, run
from tests.slow.conftest import Env, uv_environment
from tests.slow.projects import (
    FAST,
    PACKAGE,
    check_default_run,
    check_evaluate_and_predict,
    full_and_resumed_after_kill,
    new_run,
    results,
    run_files,
    runs,
    train_default_project,
)

pytestmark = pytest.mark.slow

RUN_FILES = run_files(".pth")


@pytest.fixture(scope="module")
def env(project_env: Callable[..., Env]) -> Env:
    return project_env("pytorch")


@pytest.fixture(scope="module")
def trained(env: Env, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The default project after `make data train evaluate predict`, as a user runs them."""
    return train_default_project(env, tmp_path_factory.mktemp("default"), "pytorch")


# -- the default project ---------------------------------------------------------------------
def test_generated_tests_pass(env: Env, tmp_path: Path) -> None:
    project = render_project(tmp_path)
    proc = env.run(["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project)
    assert " passed" in proc.stdout and "failed" not in proc.stdout


def test_lint_is_clean(env: Env, trained: dict[str, Any]) -> None:
    env.make(trained["project"], "lint")


def test_make_train_fills_the_run_folder(trained: dict[str, Any]) -> None:
    check_default_run(trained, "pytorch", ".pth")
    models = trained["project"] / "models"
    assert (models / "final_model.pth").is_file() and (models / "final_model.onnx").is_file()


def test_evaluate_and_predict(trained: dict[str, Any]) -> None:
    check_evaluate_and_predict(trained)


def test_onnx_model_agrees_with_pytorch(env: Env, trained: dict[str, Any]) -> None:
    script = f"""
import json, numpy as np, torch
from {PACKAGE}.engine.evaluator import load_checkpoint, model_from_checkpoint
from {PACKAGE}.engine.predictor import Predictor
from {PACKAGE}.data.processing import load_npz
images, _ = load_npz(__import__("pathlib").Path("data/interim/test.npz"))
stats = json.load(open("data/processed/stats.json"))
model = model_from_checkpoint(load_checkpoint(__import__("pathlib").Path("models/final_model.pth")))
with torch.no_grad():
    logits = model((torch.from_numpy(images).float() - stats["mean"]) / stats["std"])
torch_probs = torch.softmax(logits, dim=1).numpy()
onnx_probs = Predictor().predict_proba(images)
np.testing.assert_allclose(onnx_probs, torch_probs, atol=1e-5)
assert (onnx_probs.argmax(1) == torch_probs.argmax(1)).all()
print("agree", len(images))
"""
    proc = env.run(["python", "-c", script], cwd=trained["project"])
    assert "agree 270" in proc.stdout


def test_transformer_reaches_095(env: Env, trained: dict[str, Any]) -> None:
    project = trained["project"]
    before = runs(project)
    env.make(project, "train", args="model=transformer paths.models_dir=outputs/transformer")
    data = results(new_run(project, before))
    assert data["model"] == "transformer"
    assert data["metrics"]["test_accuracy"] >= 0.95, data["metrics"]


def test_two_process_ddp_run(env: Env, trained: dict[str, Any]) -> None:
    project = trained["project"]
    before = runs(project)
    env.make(
        project,
        "train-distributed",
        args=f"{FAST} trainer.epochs=3 paths.models_dir=outputs/ddp",
        env={"NPROC": "2"},
    )
    run_dir = new_run(project, before)  # rank 0 alone made a folder
    log = (run_dir / "logs" / "training.log").read_text()
    assert "world size 2" in log
    assert log.count("epoch 3/") == 1  # rank 1 does not log
    data = results(run_dir)
    assert data["epochs_run"] == 3 and data["config"]["trainer"]["epochs"] == 3
    assert data["metrics"]["test_accuracy"] > 0.8


def test_resume_after_sigkill_ends_like_an_uninterrupted_run(
    env: Env, trained: dict[str, Any]
) -> None:
    full, resumed = full_and_resumed_after_kill(env, trained["project"], 8, 3)
    assert resumed["metrics"] == full["metrics"]
    for key in ("epochs_run", "best_epoch"):
        assert resumed[key] == full[key], key


def test_errors_name_the_file_or_key(env: Env, tmp_path: Path) -> None:
    project = render_project(tmp_path)
    missing = env.make(project, "train", args=FAST, check=False)
    assert missing.returncode != 0
    assert "data/processed/train.npz not found: run `make data` first" in missing.stderr

    env.make(project, "data")
    typo = env.make(project, "train", args="trainer.epochz=3", check=False)
    assert typo.returncode != 0 and "epochz" in typo.stderr

    broken = project / "broken.pth"
    broken.write_bytes(b"\x00not a checkpoint")
    unreadable = env.make(project, "train", args="resume=broken.pth", check=False)
    assert unreadable.returncode != 0
    assert "checkpoint broken.pth is unreadable" in unreadable.stderr
    assert "Traceback" not in missing.stderr + unreadable.stderr

    bad_checkpoint = env.make(project, "evaluate", env={"CHECKPOINT": "broken.pth"}, check=False)
    assert bad_checkpoint.returncode != 0 and "broken.pth" in bad_checkpoint.stderr


def test_hydra_multirun_sweep_gives_ordinary_run_folders(env: Env, tmp_path: Path) -> None:
    project = render_project(tmp_path)
    env.make(project, "data")
    env.make(project, "train", args=f"-m {FAST} model=cnn,transformer")
    made = runs(project)
    assert [results(p)["model"] for p in made] == ["cnn", "transformer"]
    assert all(p.name.endswith(("_cnn_0", "_transformer_1")) for p in made)


# -- other answers ---------------------------------------------------------------------------
def test_yaml_config_system(env: Env, tmp_path: Path) -> None:
    project = render_project(tmp_path, config_system="yaml", tracking="none")
    assert "hydra" not in (project / "pyproject.toml").read_text()
    # The generated tests compose the configuration with main.load_config; run those that train.
    env.run(["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "engine"], cwd=project)
    env.make(project, "data")
    env.make(project, "train", args="--set trainer.epochs=2 model=transformer")
    (run_dir,) = runs(project)
    assert run_dir.name.endswith("_transformer")
    for name in RUN_FILES:
        assert (run_dir / name).is_file(), name
    data = results(run_dir)
    assert data["config"]["trainer"]["epochs"] == 2 and data["model"] == "transformer"
    env.make(project, "train", args="experiment=experiment_a trainer.epochs=1")
    assert results(runs(project)[-1])["config"]["name"] == "experiment_a"
    typo = env.make(project, "train", args="--set trainer.epochz=3", check=False)
    assert typo.returncode != 0 and "unknown config key trainer.epochz" in typo.stderr


def test_mlflow_tracking_uses_a_local_store(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = render_project(tmp_path, tracking="mlflow")
    env.make(project, "data")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the local store, by default
    env.make(project, "train", args="trainer.epochs=2")
    metric_files = list((project / "mlruns").rglob("metrics/val_accuracy"))
    assert metric_files, "per-epoch metrics in the local store"
    assert len(metric_files[0].read_text().splitlines()) == 2
    artifacts = {p.name for p in (project / "mlruns").rglob("artifacts/*")}
    assert {"loss_curve.png", "final_model.onnx"} <= artifacts
    assert list((project / "mlruns").rglob("params/trainer.epochs"))


def test_wandb_tracking_works_offline(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)  # offline because the project says so
    project = render_project(tmp_path, tracking="wandb")
    env.make(project, "data")
    env.make(project, "train", args="trainer.epochs=2", env={"WANDB_SILENT": "true"})
    (run_dir,) = runs(project)
    (wandb_run,) = list((run_dir / "wandb").glob("offline-run-*"))
    assert list(wandb_run.glob("*.wandb"))


def test_env_manager_files_parse(tmp_path: Path) -> None:
    import tomllib

    import yaml

    pip = render_project(tmp_path / "pip", env_manager="pip")
    pins = (pip / "requirements.txt").read_text().split()
    assert "torch==2.13.0" in pins
    assert "-r requirements.txt" in (pip / "requirements-dev.txt").read_text()
    assert "PYTHON ?= .venv/bin/python" in (pip / "Makefile").read_text()
    conda = render_project(tmp_path / "conda", env_manager="conda")
    environment = yaml.safe_load((conda / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    assert "torch==2.13.0" in pip_section
    poetry = render_project(tmp_path / "poetry", env_manager="poetry")
    pyproject = tomllib.loads((poetry / "pyproject.toml").read_text())
    assert pyproject["build-system"]["build-backend"] == "poetry.core.masonry.api"
    assert "poetry install" in (poetry / "README.md").read_text()


# -- as a new user ---------------------------------------------------------------------------
def test_readme_quick_start_as_a_new_user(tmp_path: Path) -> None:
    """`dlproj new --install` runs the README's `make setup` (uv) and `make test`; then
    `make data train` with the default PYTHON, as the generated README says."""
    user_env = {
        **uv_environment(),
        "UV_COMPILE_BYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "VIRTUAL_ENV": "",
    }
    made = run(
        [sys.executable, "-m", "dlproj.cli", "new", "demo", "--defaults", "--install",
         "-o", str(tmp_path)],
        tmp_path, env=user_env, timeout=1500,
    )  # fmt: skip
    assert " passed" in made.stdout + made.stderr  # the generated tests ran
    project = tmp_path / "demo"
    readme = (project / "README.md").read_text()
    assert "make setup" in readme and "uv sync" in readme
    assert (project / "uv.lock").is_file() and (project / ".venv" / "bin" / "python").exists()
    run(["make", "data", "train", "ARGS=trainer.epochs=3"], project, env=user_env)
    (run_dir,) = runs(project)
    assert results(run_dir)["epochs_run"] == 3
