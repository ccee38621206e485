"""The TensorFlow/Keras project really works: its tests, data, training, exports, resume, mirroring.

One default project (framework=tensorflow) is rendered for the module and driven through its own
Makefile with PYTHON pointed at the shared tensorflow environment (`project_env`,
tests/slow/conftest.py). TensorFlow's start-up (seconds per process) dominates, so the tests
share that project and keep their runs short.
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

RUN_FILES = run_files(".keras")
QUIET = {"TF_CPP_MIN_LOG_LEVEL": "2"}


@pytest.fixture(scope="module")
def env(project_env: Callable[..., Env]) -> Env:
    return project_env("tensorflow")


@pytest.fixture(scope="module")
def trained(env: Env, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The default tensorflow project after `make data train evaluate predict`."""
    return train_default_project(env, tmp_path_factory.mktemp("tf"), "tensorflow", QUIET)


# -- the default project ---------------------------------------------------------------------
def test_generated_tests_pass_and_lint_is_clean(env: Env, trained: dict[str, Any]) -> None:
    project = trained["project"]
    started = time.perf_counter()
    proc = env.run(
        ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, env=QUIET
    )
    assert " passed" in proc.stdout and "failed" not in proc.stdout
    print(f"project tests: {time.perf_counter() - started:.1f}s wall")
    env.make(project, "lint")


def test_make_train_fills_the_run_folder(trained: dict[str, Any]) -> None:
    check_default_run(trained, "tensorflow", ".keras")
    models = trained["project"] / "models"
    for name in ("final_model.keras", "final_model.onnx", "final_model_savedmodel/saved_model.pb"):
        assert (models / name).is_file(), name


def test_evaluate_and_predict(trained: dict[str, Any]) -> None:
    check_evaluate_and_predict(trained)


def test_exports_reload_and_agree(env: Env, trained: dict[str, Any]) -> None:
    """final_model.keras, the SavedModel and the ONNX graph (shared predictor) give one answer."""
    script = f"""
import json
from pathlib import Path
import keras, numpy as np, tensorflow as tf
import {PACKAGE}.models
from {PACKAGE}.data.processing import load_npz
from {PACKAGE}.engine.predictor import Predictor
images, _ = load_npz(Path("data/interim/test.npz"))
raw = images.astype(np.float32)
stats = json.load(open("data/processed/stats.json"))
model = keras.saving.load_model("models/final_model.keras", compile=False)
keras_logits = model((raw - stats["mean"]) / stats["std"]).numpy()
saved = tf.saved_model.load("models/final_model_savedmodel")  # keep it: it owns the variables
saved_logits = saved.serve(tf.constant(raw)).numpy()
onnx_probs = Predictor().predict_proba(raw)
np.testing.assert_allclose(saved_logits, keras_logits, rtol=1e-4, atol=1e-4)
np.testing.assert_allclose(onnx_probs, tf.nn.softmax(keras_logits).numpy(), atol=1e-5)
assert (onnx_probs.argmax(1) == keras_logits.argmax(1)).all()
print("agree", len(raw))
"""
    proc = env.run(["python", "-c", script], cwd=trained["project"], env=QUIET)
    assert "agree 270" in proc.stdout


def test_transformer_reaches_095(env: Env, trained: dict[str, Any]) -> None:
    project = trained["project"]
    before = runs(project)
    args = "model=transformer tracking=none paths.models_dir=outputs/transformer"
    env.make(project, "train", args=args, env=QUIET)
    data = results(new_run(project, before))
    assert data["model"] == "transformer"
    assert data["metrics"]["test_accuracy"] >= 0.95, data["metrics"]


def test_mirrored_strategy_over_two_cpu_devices(env: Env, trained: dict[str, Any]) -> None:
    project = trained["project"]
    before = runs(project)
    env.make(
        project,
        "train-distributed",
        args="tracking=none trainer.epochs=3 paths.models_dir=outputs/mirrored",
        env={"NPROC": "2", **QUIET},
    )
    run_dir = new_run(project, before)
    log = (run_dir / "logs" / "training.log").read_text()
    assert "world size 2" in log and "CPU:1" in log
    data = results(run_dir)
    assert data["epochs_run"] == 3 and data["config"]["trainer"]["devices"] == 2
    assert data["metrics"]["test_accuracy"] > 0.8


def test_resume_after_sigkill_ends_like_an_uninterrupted_run(
    env: Env, trained: dict[str, Any]
) -> None:
    full, resumed = full_and_resumed_after_kill(env, trained["project"], 4, 2, QUIET)
    assert resumed["epochs_run"] == full["epochs_run"] == 4
    gap = abs(resumed["metrics"]["test_accuracy"] - full["metrics"]["test_accuracy"])
    assert gap <= 0.005, (resumed["metrics"], full["metrics"])


# -- other answers ---------------------------------------------------------------------------
def test_yaml_config_with_mlflow(env: Env, tmp_path: Path) -> None:
    project = render_project(
        tmp_path, framework="tensorflow", config_system="yaml", tracking="mlflow"
    )
    env.make(project, "data", env=QUIET)
    args = "--set trainer.epochs=2 name=yaml_run"
    env.make(project, "train", args=args, env={"MLFLOW_TRACKING_URI": "", **QUIET})
    (run_dir,) = runs(project)
    assert run_dir.name.endswith("_yaml_run")
    for name in RUN_FILES:
        assert (run_dir / name).is_file(), name
    assert results(run_dir)["config"]["trainer"]["epochs"] == 2
    metric_files = list((project / "mlruns").rglob("metrics/val_accuracy"))
    assert metric_files and len(metric_files[0].read_text().splitlines()) == 2
    artifacts = {p.name for p in (project / "mlruns").rglob("artifacts/*")}
    assert {"loss_curve.png", "final_model.onnx"} <= artifacts


def test_wandb_tracking_works_offline(env: Env, tmp_path: Path) -> None:
    project = render_project(tmp_path, framework="tensorflow", tracking="wandb")
    env.make(project, "data", env=QUIET)
    offline = {"WANDB_MODE": "offline", "WANDB_API_KEY": "", "WANDB_SILENT": "true", **QUIET}
    env.make(project, "train", args="trainer.epochs=2", env=offline)
    (run_dir,) = runs(project)
    (wandb_run,) = list((run_dir / "wandb").glob("offline-run-*"))
    assert list(wandb_run.glob("*.wandb"))
