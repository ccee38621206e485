"""The JAX/Flax project really works: its tests, data, training, sharding, resume, exports.

One rendered project (hydra, tensorboard) serves the module: `make data train evaluate predict`
as a user runs them, then the transformer, the 2-device sharded run and an exact resume in the
same project. Two small renders cover config_system=yaml with MLflow, and wandb offline. All run
in the shared jax environment (`project_env`, tests/slow/conftest.py) with PYTHON pointed at it.
"""

from __future__ import annotations

import json
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
    new_run,
    results,
    run_files,
    runs,
    train_default_project,
)

pytestmark = pytest.mark.slow

RUN_FILES = run_files(".msgpack")


@pytest.fixture(scope="module")
def env(project_env: Callable[..., Env]) -> Env:
    return project_env("jax")


@pytest.fixture(scope="module")
def trained(env: Env, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The default jax project after `make data train evaluate predict`."""
    return train_default_project(env, tmp_path_factory.mktemp("jax"), "jax")


def test_generated_tests_and_lint_pass(env: Env, trained: dict[str, Any]) -> None:
    started = time.perf_counter()
    proc = env.run(["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], trained["project"])
    assert " passed" in proc.stdout and "failed" not in proc.stdout
    print(f"generated tests: {time.perf_counter() - started:.1f}s")
    env.make(trained["project"], "lint")


def test_make_train_fills_the_run_folder(trained: dict[str, Any]) -> None:
    check_default_run(trained, "jax", ".msgpack")
    models = trained["project"] / "models"
    for name in ("final_model.msgpack", "final_model.jax", "final_model.onnx"):
        assert (models / name).is_file(), name


def test_evaluate_and_predict(trained: dict[str, Any]) -> None:
    check_evaluate_and_predict(trained)
    scores = json.loads(trained["evaluate"].strip().splitlines()[-1])
    assert scores["checkpoint"] == "models/final_model.msgpack"


def test_exports_reload_and_agree_with_flax(env: Env, trained: dict[str, Any]) -> None:
    script = f"""
import json
from pathlib import Path
import jax.numpy as jnp, numpy as np
from {PACKAGE}.data.processing import load_npz
from {PACKAGE}.engine.evaluator import load_checkpoint, model_from_checkpoint
from {PACKAGE}.engine.exported import load_exported
from {PACKAGE}.engine.predictor import Predictor
images, _ = load_npz(Path("data/interim/test.npz"))
stats = json.load(open("data/processed/stats.json"))
model = model_from_checkpoint(load_checkpoint(Path("models/final_model.msgpack")))
logits = np.asarray(model((jnp.asarray(images, jnp.float32) - stats["mean"]) / stats["std"]))
exported = load_exported(Path("models/final_model.jax"))(images)
np.testing.assert_allclose(exported, logits, rtol=1e-5, atol=1e-5)
onnx_probs = Predictor().predict_proba(images)
shifted = np.exp(logits - logits.max(1, keepdims=True))
np.testing.assert_allclose(onnx_probs, shifted / shifted.sum(1, keepdims=True), atol=1e-5)
assert (onnx_probs.argmax(1) == logits.argmax(1)).all()
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


def test_sharded_run_over_two_host_devices(env: Env, trained: dict[str, Any]) -> None:
    project = trained["project"]
    before = runs(project)
    env.make(
        project,
        "train-distributed",
        args=f"{FAST} trainer.epochs=3 paths.models_dir=outputs/sharded",
        env={"NPROC": "2"},
    )
    run_dir = new_run(project, before)
    log = (run_dir / "logs" / "training.log").read_text()
    assert "world size 2" in log
    assert "global batch 128: 64 per device x 2" in log
    data = results(run_dir)
    assert data["epochs_run"] == 3 and data["config"]["trainer"]["devices"] == 2
    assert data["metrics"]["test_accuracy"] > 0.8


def test_resume_at_an_epoch_boundary_ends_like_an_uninterrupted_run(
    env: Env, trained: dict[str, Any]
) -> None:
    """A run stopped after epoch 3's checkpoint, resumed with resume=<folder>, in its folder."""
    project = trained["project"]
    overrides = [
        "tracking=none",
        "trainer.epochs=5",
        "trainer.early_stopping.patience=100",
        "paths.models_dir=outputs/resume",
    ]
    before = runs(project)
    env.run(["python", "-m", f"{PACKAGE}.main", *overrides, "name=full"], cwd=project)
    full = results(new_run(project, before))

    before = runs(project)
    stop_after_3 = f"""
import sys
from {PACKAGE}.engine.trainer import Trainer
from {PACKAGE}.main import main
run_epoch = Trainer._run_epoch
def stop(self, epoch):
    if epoch == 4:
        raise SystemExit(3)  # the job is stopped after epoch 3's checkpoint
    return run_epoch(self, epoch)
Trainer._run_epoch = stop
sys.argv = ["main", *{overrides!r}, "name=stopped"]
main()
"""
    stopped = env.run(["python", "-c", stop_after_3], cwd=project, check=False)
    assert stopped.returncode == 3, stopped.stderr[-2000:]
    stopped_dir = new_run(project, before)
    assert not (stopped_dir / "metrics" / "results.json").exists()

    env.run(["python", "-m", f"{PACKAGE}.main", *overrides, f"resume={stopped_dir}"], cwd=project)
    assert new_run(project, before) == stopped_dir  # continued in its own folder
    resumed = results(stopped_dir)
    assert resumed["metrics"] == full["metrics"]
    for key in ("epochs_run", "best_epoch"):
        assert resumed[key] == full[key], key
    assert "resumed from" in (stopped_dir / "logs" / "training.log").read_text()


def test_yaml_config_with_mlflow(env: Env, tmp_path: Path) -> None:
    project = render_project(tmp_path, framework="jax", config_system="yaml", tracking="mlflow")
    assert "hydra" not in (project / "pyproject.toml").read_text()
    env.make(project, "data")
    env.make(
        project,
        "train",
        args="--set trainer.epochs=2 model=transformer",
        env={"MLFLOW_TRACKING_URI": ""},
    )
    (run_dir,) = runs(project)
    assert run_dir.name.endswith("_transformer")
    for name in RUN_FILES:
        assert (run_dir / name).is_file(), name
    assert results(run_dir)["config"]["trainer"]["epochs"] == 2
    metric_files = list((project / "mlruns").rglob("metrics/val_accuracy"))
    assert metric_files and len(metric_files[0].read_text().splitlines()) == 2
    artifacts = {p.name for p in (project / "mlruns").rglob("artifacts/*")}
    assert {"loss_curve.png", "final_model.onnx"} <= artifacts
    typo = env.make(project, "train", args="--set trainer.epochz=3", check=False)
    assert typo.returncode != 0 and "unknown config key trainer.epochz" in typo.stderr


def test_wandb_tracking_works_offline(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("WANDB_MODE", "WANDB_API_KEY"):  # offline because the config says so
        monkeypatch.delenv(name, raising=False)
    project = render_project(tmp_path, framework="jax", tracking="wandb")
    env.make(project, "data")
    env.make(project, "train", args="trainer.epochs=2", env={"WANDB_SILENT": "true"})
    (run_dir,) = runs(project)
    (wandb_run,) = list((run_dir / "wandb").glob("offline-run-*"))
    assert list(wandb_run.glob("*.wandb"))
