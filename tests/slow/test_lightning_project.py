"""The Lightning project really works: its tests, data, training, DDP, resume, export, trackers.

One default project (framework=lightning) is rendered and trained once per module (`trained`);
most tests read or extend it. Everything runs in the shared lightning environment
(`project_env`, tests/slow/conftest.py) through the project's own Makefile, with PYTHON pointed
at that environment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import render_project
from tests.slow.conftest import Env
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

RUN_FILES = run_files(".ckpt")


@pytest.fixture(scope="module")
def env(project_env: Callable[..., Env]) -> Env:
    return project_env("lightning")


@pytest.fixture(scope="module")
def trained(env: Env, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The default Lightning project after `make data train evaluate predict`."""
    return train_default_project(env, tmp_path_factory.mktemp("lightning"), "lightning")


# -- the default project ---------------------------------------------------------------------
def test_generated_tests_pass(env: Env, trained: dict[str, Any]) -> None:
    started = time.perf_counter()
    proc = env.run(
        ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=trained["project"]
    )
    assert " passed" in proc.stdout and "failed" not in proc.stdout
    print(f"project tests: {time.perf_counter() - started:.1f}s wall")


def test_lint_is_clean(env: Env, trained: dict[str, Any]) -> None:
    env.make(trained["project"], "lint")


def test_make_train_fills_the_run_folder(trained: dict[str, Any]) -> None:
    check_default_run(trained, "lightning", ".ckpt")
    log = (trained["run"] / "logs" / "training.log").read_text()
    assert "epoch 1/" in log and "GPU available" in log  # Lightning's own messages land here too
    models = trained["project"] / "models"
    assert (models / "final_model.pth").is_file() and (models / "final_model.onnx").is_file()


def test_evaluate_and_predict(trained: dict[str, Any]) -> None:
    check_evaluate_and_predict(trained)


def test_onnx_model_agrees_with_the_lightning_module(env: Env, trained: dict[str, Any]) -> None:
    """The predictor's ONNX graph gives the best checkpoint's LightningModule outputs."""
    best = trained["run"] / "checkpoints" / "best_model.ckpt"
    script = f"""
import json, numpy as np, torch
from pathlib import Path
from {PACKAGE}.data.processing import load_npz
from {PACKAGE}.engine.evaluator import load_checkpoint, model_from_checkpoint
from {PACKAGE}.engine.predictor import Predictor
from {PACKAGE}.engine.trainer import TrainerConfig, build_module
from {PACKAGE}.data.processing import DataConfig
checkpoint = load_checkpoint(Path({str(best)!r}))
cfg = checkpoint["config"]
module = build_module(cfg, TrainerConfig(), DataConfig(**cfg["data"]))
module.load_state_dict(checkpoint["state_dict"])
images, _ = load_npz(Path("data/interim/test.npz"))
stats = json.load(open("data/processed/stats.json"))
with torch.no_grad():
    logits = module.eval()((torch.from_numpy(images).float() - stats["mean"]) / stats["std"])
lightning_probs = torch.softmax(logits, dim=1).numpy()
onnx_probs = Predictor().predict_proba(images)
np.testing.assert_allclose(onnx_probs, lightning_probs, atol=1e-5)
assert Predictor().metadata["framework"] == "lightning"
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
    assert "world size 2" in log and "strategy DDPStrategy" in log
    assert log.count("epoch 3/") == 1  # rank 1 does not log
    data = results(run_dir)
    assert data["epochs_run"] == 3 and data["config"]["trainer"]["epochs"] == 3
    assert data["metrics"]["test_accuracy"] > 0.8


def test_resume_after_sigkill_ends_like_an_uninterrupted_run(
    env: Env, trained: dict[str, Any]
) -> None:
    full, resumed = full_and_resumed_after_kill(env, trained["project"], 5, 3)
    assert resumed["metrics"] == full["metrics"]
    for key in ("epochs_run", "best_epoch"):
        assert resumed[key] == full[key], key


def test_errors_name_the_file_or_key(env: Env, trained: dict[str, Any]) -> None:
    project = trained["project"]
    typo = env.make(project, "train", args="trainer.epochz=3", check=False)
    assert typo.returncode != 0 and "epochz" in typo.stderr
    broken = project / "broken.ckpt"
    broken.write_bytes(b"\x00not a checkpoint")
    unreadable = env.make(project, "train", args="resume=broken.ckpt", check=False)
    assert unreadable.returncode != 0
    assert "checkpoint broken.ckpt is unreadable" in unreadable.stderr
    assert "Traceback" not in unreadable.stderr


# -- other answers ---------------------------------------------------------------------------
def test_yaml_config_system_with_mlflow(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = render_project(
        tmp_path, framework="lightning", config_system="yaml", tracking="mlflow"
    )
    assert "hydra" not in (project / "pyproject.toml").read_text()
    env.make(project, "data")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the local store, by default
    env.make(project, "train", args="--set trainer.epochs=2 model=transformer")
    (run_dir,) = runs(project)
    assert run_dir.name.endswith("_transformer")
    for name in RUN_FILES:
        assert (run_dir / name).is_file(), name
    data = results(run_dir)
    assert data["config"]["trainer"]["epochs"] == 2 and data["framework"] == "lightning"
    metric_files = list((project / "mlruns").rglob("metrics/val_accuracy"))
    assert metric_files, "per-epoch metrics in the local store"
    assert len(metric_files[0].read_text().splitlines()) >= 2  # per epoch, then the best model
    artifacts = {p.name for p in (project / "mlruns").rglob("artifacts/*")}
    assert {"loss_curve.png", "final_model.onnx"} <= artifacts
    assert list((project / "mlruns").rglob("params/trainer.epochs"))


def test_wandb_tracking_works_offline(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)  # offline because the project says so
    project = render_project(tmp_path, framework="lightning", tracking="wandb")
    env.make(project, "data")
    env.make(project, "train", args="trainer.epochs=2", env={"WANDB_SILENT": "true"})
    (run_dir,) = runs(project)
    (wandb_run,) = list((run_dir / "wandb").glob("offline-run-*"))
    assert list(wandb_run.glob("*.wandb"))
    assert (run_dir / "metrics" / "results.json").is_file()
