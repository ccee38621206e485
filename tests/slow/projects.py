"""What every framework's slow test checks the same way: the run folder and its results.json.

Each framework module renders its default project once (``train_default_project``), then asserts
the shared contract (``check_default_run``) before its own framework-specific checks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import render_project
from tests.slow.conftest import Env

PACKAGE = "demo_project"
# results.json: one schema for every framework (the comparison script reads any of them).
RESULT_KEYS = [
    "run_name",
    "framework",
    "model",
    "seed",
    "epochs_run",
    "best_epoch",
    "duration_s",
    "metrics",
    "config",
]
METRIC_KEYS = {"train_loss", "val_loss", "val_accuracy", "test_loss", "test_accuracy"}
FAST = "trainer.epochs=2 tracking=none"  # where accuracy is not the point


def run_files(suffix: str) -> tuple[str, ...]:
    """The files every run folder holds; checkpoints carry the framework's own suffix."""
    return (
        "logs/training.log",
        "metrics/results.json",
        "plots/loss_curve.png",
        "plots/confusion_matrix.png",
        f"checkpoints/best_model{suffix}",
        f"checkpoints/last{suffix}",
    )


def runs(project: Path) -> list[Path]:
    """The project's run folders, oldest name first."""
    experiments = project / "outputs" / "experiments"
    return sorted(p for p in experiments.iterdir() if p.is_dir()) if experiments.exists() else []


def results(run_dir: Path) -> dict[str, Any]:
    """A run's metrics/results.json."""
    return json.loads((run_dir / "metrics" / "results.json").read_text())


def new_run(project: Path, before: list[Path]) -> Path:
    """The one run folder that appeared since ``before``."""
    (created,) = [p for p in runs(project) if p not in before]
    return created


def train_default_project(
    env: Env, folder: Path, framework: str, extra_env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Render the framework's default project and run `make data train evaluate predict`."""
    project = render_project(folder, framework=framework)
    env.make(project, "data", env=extra_env)
    started = time.perf_counter()
    env.make(project, "train", env=extra_env)
    train_wall_s = time.perf_counter() - started
    evaluate = env.make(project, "evaluate", env=extra_env)
    predict = env.make(project, "predict", env=extra_env)
    (run_dir,) = runs(project)
    return {
        "project": project,
        "run": run_dir,
        "train_wall_s": train_wall_s,
        "evaluate": evaluate.stdout,
        "predict": predict.stdout + predict.stderr,
    }


def check_default_run(trained: dict[str, Any], framework: str, suffix: str) -> dict[str, Any]:
    """The run folder of `make train` is complete and its results.json follows the schema."""
    run_dir = trained["run"]
    assert run_dir.name.endswith("_cnn")
    time.strptime(run_dir.name[:19], "%Y-%m-%d_%H-%M-%S")
    for name in run_files(suffix):
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "tensorboard").rglob("events.out.tfevents.*")), "tensorboard events"
    data = results(run_dir)
    assert list(data) == RESULT_KEYS
    assert set(data["metrics"]) == METRIC_KEYS
    assert data["framework"] == framework and data["model"] == "cnn" and data["seed"] == 42
    assert data["metrics"]["test_accuracy"] >= 0.97, data["metrics"]
    assert data["config"]["trainer"]["epochs"] >= data["epochs_run"] >= data["best_epoch"] >= 1
    log = (run_dir / "logs" / "training.log").read_text()
    assert "world size 1" in log and "configuration:" in log and "finished in" in log
    print(f"make train: {trained['train_wall_s']:.1f}s wall, {data['duration_s']:.1f}s in train()")
    return data


def run_killed_at(
    env: Env,
    project: Path,
    command: list[str],
    marker: str,
    extra_env: dict[str, str] | None = None,
) -> Path:
    """Start a training run, SIGKILL it once its log shows ``marker``; return its run folder.

    Nothing of the run may look finished: it has no results.json.
    """
    before = runs(project)
    proc = subprocess.Popen(
        command,
        cwd=project,
        env=env.environ(project, extra_env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    killed_dir = None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        created = [p for p in runs(project) if p not in before]
        log = created[0] / "logs" / "training.log" if created else None
        if log is not None and log.exists() and marker in log.read_text():
            killed_dir = created[0]
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait(timeout=60)
    assert killed_dir is not None, "the run ended before it could be killed"
    assert proc.returncode == -signal.SIGKILL
    assert not (killed_dir / "metrics" / "results.json").exists()
    return killed_dir


def check_evaluate_and_predict(trained: dict[str, Any]) -> None:
    """`make evaluate` reproduces the run's test accuracy; `make predict` scores the raw split."""
    scores = json.loads(trained["evaluate"].strip().splitlines()[-1])
    expected = results(trained["run"])["metrics"]["test_accuracy"]
    assert scores["accuracy"] == pytest.approx(expected, abs=1e-6)
    predictions = (trained["project"] / "outputs" / "predictions.csv").read_text().splitlines()
    assert predictions[0] == "index,prediction,confidence,label"
    assert len(predictions) == 271  # the raw test split, plus the header
    assert "accuracy against the file's labels" in trained["predict"]


def full_and_resumed_after_kill(
    env: Env,
    project: Path,
    epochs: int,
    kill_at_epoch: int,
    extra_env: dict[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """results.json of an uninterrupted run, and of a run SIGKILLed mid-way then resumed.

    Both use the same seed and settings; the resumed run must continue in its own folder.
    """
    overrides = [
        "tracking=none",
        f"trainer.epochs={epochs}",
        "trainer.early_stopping.patience=100",
        "paths.models_dir=outputs/resume",
    ]
    command = ["python", "-m", f"{PACKAGE}.main", *overrides]
    before = runs(project)
    env.run([*command, "name=full"], cwd=project, env=extra_env)
    full = results(new_run(project, before))

    before = runs(project)
    marker = f"epoch {kill_at_epoch}/{epochs}"
    killed_dir = run_killed_at(env, project, [*command, "name=killed"], marker, extra_env)
    env.run([*command, f"resume={killed_dir}"], cwd=project, env=extra_env)
    assert new_run(project, before) == killed_dir  # continued in its own folder
    assert "resumed from" in (killed_dir / "logs" / "training.log").read_text()
    return full, results(killed_dir)
