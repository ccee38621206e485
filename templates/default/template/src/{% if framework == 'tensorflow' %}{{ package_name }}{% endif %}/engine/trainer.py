"""Training with Keras: model.fit over tf.data, callbacks for everything around the loop.

train(cfg) -> metrics is what main.py and the tests call. One run = one folder (utils/run_dir.py):
ModelCheckpoint keeps checkpoints/best_model.keras, EarlyStopping watches validation, CSVLogger
writes logs/history.csv, EpochLogger sends each epoch to the log and the tracker, and every
`checkpoint_every` epochs RunState writes checkpoints/last.keras: model and optimizer state, plus
the run's state (epoch, history, early stopping, RNG) as run_state.json in the same archive.
`resume=<run folder>` (or `resume=latest`) continues that run in its folder; the data order is
keyed by epoch and the dropout RNG is restored, so it ends as an uninterrupted run would (CPU).

With trainer.devices > 1 (`make train-distributed`), tf.distribute.MirroredStrategy trains one
replica per device in this one process: GPUs, or logical CPU devices on a machine without them.
Several machines: MultiWorkerMirroredStrategy, chosen when TF_CONFIG is set (utils/common.py).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import yaml

from ..data.dataset import make_datasets, steps_per_epoch
from ..data.processing import DataConfig, load_stats
from ..models import BaseModel, build_model
from ..utils.common import (
    configure_devices,
    is_chief,
    make_strategy,
    route_tensorflow_logs,
    seed_everything,
)
from ..utils.config import (
    ConfigError,
    EarlyStoppingConfig,
    LossConfig,
    OptimizerConfig,
    SchedulerConfig,
    from_dict,
)
from ..utils.logging_config import setup_logging
from ..utils.metrics import confusion_matrix
from ..utils.results import write_results
from ..utils.run_dir import RunPaths, discard_if_unused, find_checkpoint, new_run_dir, run_folder
from ..utils.tracking import Tracker, create_tracker
from ..visualization.plotters import plot_confusion_matrix, plot_loss_curve
from .evaluator import CheckpointError, EvalResult, evaluate, load_checkpoint

log = logging.getLogger(__name__)

SUFFIX = ".keras"
STATE_FILE = "run_state.json"  # inside last.keras: epoch, history, early stopping, RNG states
OPTIMIZERS = {
    "adamw": keras.optimizers.AdamW,
    "adam": keras.optimizers.Adam,
    "sgd": keras.optimizers.SGD,
}


@dataclass
class TrainerConfig:
    """configs/trainer/*.yaml; every field is documented there."""

    epochs: int = 20
    device: str = "auto"
    devices: int = 1  # replicas for MirroredStrategy (configs/trainer/mirrored.yaml)
    mixed_precision: bool = True
    distributed_backend: str = "auto"
    checkpoint_every: int = 1
    grad_clip: float | None = 1.0
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)

    def __post_init__(self) -> None:
        if self.optimizer.name not in OPTIMIZERS:
            raise ConfigError(
                f"trainer.optimizer.name={self.optimizer.name!r}: use one of {sorted(OPTIMIZERS)}"
            )
        if self.loss.name != "cross_entropy":
            raise ConfigError(f"trainer.loss.name={self.loss.name!r}: use cross_entropy")
        if self.scheduler.name not in ("cosine", "constant"):
            raise ConfigError("trainer.scheduler.name must be cosine or constant")
        if self.early_stopping.monitor not in ("val_loss", "val_accuracy"):
            raise ConfigError("trainer.early_stopping.monitor must be val_loss or val_accuracy")


def learning_rate(
    cfg: TrainerConfig, steps: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """Linear warm-up to optimizer.lr, then cosine decay to scheduler.min_lr (or a constant)."""
    peak, scheduler = cfg.optimizer.lr, cfg.scheduler
    if scheduler.name == "constant":
        return peak
    total, warmup = cfg.epochs * steps, scheduler.warmup_epochs * steps
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak / warmup if warmup else peak,
        decay_steps=max(1, total - warmup),
        alpha=scheduler.min_lr / peak,
        warmup_target=peak if warmup else None,
        warmup_steps=warmup,
    )


def compile_model(model: BaseModel, cfg: TrainerConfig, steps: int) -> BaseModel:
    """Attach optimizer, loss and accuracy metric (inside the strategy's scope)."""
    optimizer = cfg.optimizer
    model.compile(
        optimizer=OPTIMIZERS[optimizer.name](
            learning_rate=learning_rate(cfg, steps),
            weight_decay=optimizer.weight_decay,
            global_clipnorm=cfg.grad_clip,
        ),
        loss=keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=cfg.loss.label_smoothing
        ),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    return model


def seed_states(model: keras.Model) -> list[list[int]]:
    """The dropout RNG states (SeedGenerator variables), which .keras files do not keep."""
    return [v.numpy().tolist() for v in model.non_trainable_variables if _is_seed(v)]


def set_seed_states(model: keras.Model, states: list[list[int]]) -> None:
    """Restore what seed_states() returned (same architecture, same order)."""
    variables = [v for v in model.non_trainable_variables if _is_seed(v)]
    for variable, state in zip(variables, states, strict=True):
        variable.assign(np.array(state, dtype=variable.dtype))


def _is_seed(variable: keras.Variable) -> bool:
    return variable.path.endswith("seed_generator_state")


# -- callbacks ------------------------------------------------------------------------------------
class EpochLogger(keras.callbacks.Callback):
    """Per-epoch metrics to the log and the tracker; keeps the history across resumes."""

    def __init__(self, epochs: int, samples: int, tracker: Tracker, history: dict[str, list]):
        super().__init__()
        self.epochs, self.samples, self.tracker, self.history = epochs, samples, tracker, history
        self.best: float | None = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._tic = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        seconds = time.perf_counter() - self._tic
        metrics = {
            "train_loss": float(logs["loss"]),
            "val_loss": float(logs["val_loss"]),
            "val_accuracy": float(logs["val_accuracy"]),
        }
        for key, value in metrics.items():
            self.history.setdefault(key, []).append(value)
        lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        log.info(
            "epoch %d/%d  train_loss %.4f  val_loss %.4f  val_accuracy %.4f  lr %.2e  "
            "%.2fs (%.0f samples/s)",
            epoch + 1,
            self.epochs,
            metrics["train_loss"],
            metrics["val_loss"],
            metrics["val_accuracy"],
            lr,
            seconds,
            self.samples / seconds,
        )
        self.tracker.log_metrics({**metrics, "lr": lr}, step=epoch + 1)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """EarlyStopping whose counters survive a resume (state() -> last.json -> restore)."""

    def __init__(self, restore: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.restore = restore

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        if self.restore:
            self.wait, self.best = self.restore["wait"], self.restore["best"]
            self.best_epoch = self.restore["best_epoch"]

    def state(self) -> dict[str, Any]:
        best = None if self.best is None else float(self.best)
        return {"wait": self.wait, "best": best, "best_epoch": self.best_epoch}


class RunState(keras.callbacks.Callback):
    """Every N epochs (and at the end) write last.keras: all a resume needs, in one file."""

    def __init__(
        self,
        run: RunPaths,
        cfg: TrainerConfig,
        stopping: ResumableEarlyStopping,
        logger: EpochLogger,
        config: dict[str, Any],
        elapsed_s: float,
    ) -> None:
        super().__init__()
        self.run, self.cfg, self.stopping, self.logger = run, cfg, stopping, logger
        self.config, self.elapsed_s = config, elapsed_s
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        done = epoch + 1
        due = done % self.cfg.checkpoint_every == 0 or done == self.cfg.epochs
        if due or self.model.stop_training:
            self.save(done)

    def save(self, epoch: int) -> None:
        path = self.run.last_checkpoint
        partial = path.with_name(f"partial{SUFFIX}")
        self.model.save(partial)  # architecture, weights, optimizer state
        state = {
            "epoch": epoch,
            "history": self.logger.history,
            "early_stopping": self.stopping.state(),
            "seed_states": seed_states(self.model),
            "elapsed_s": self.elapsed_s + time.perf_counter() - self._started,
            "config": self.config,
        }
        with zipfile.ZipFile(partial, "a") as archive:  # a .keras file is a zip archive
            archive.writestr(STATE_FILE, json.dumps(state, indent=2))
        partial.replace(path)  # atomic: never a half-written or inconsistent last.keras


# -- train(cfg) -----------------------------------------------------------------------------------
def train(cfg: dict[str, Any], hydra_run_dir: Path | None = None) -> dict[str, float]:
    """Run one training from a composed configuration; return the final metrics.

    ``hydra_run_dir`` is the folder Hydra made for this run, used unless the run resumes another.
    """
    started = time.perf_counter()
    trainer_cfg = from_dict(TrainerConfig, cfg["trainer"], "trainer")
    run, state = _prepare_run(cfg, hydra_run_dir)
    setup_logging(run.log_file)
    if state is not None:
        cfg = {**state["config"], "resume": cfg["resume"]}
        trainer_cfg = from_dict(TrainerConfig, cfg["trainer"], "trainer")
    try:
        return _train(cfg, trainer_cfg, run, state, started)
    except Exception:
        log.exception("training failed")
        raise


def _prepare_run(
    cfg: dict[str, Any], hydra_run_dir: Path | None
) -> tuple[RunPaths, dict[str, Any] | None]:
    """A new run folder, or the folder and saved state (in last.keras) of the run to resume."""
    experiments_dir = Path(cfg["paths"]["experiments_dir"])
    if cfg.get("resume"):
        checkpoint = find_checkpoint(str(cfg["resume"]), experiments_dir, SUFFIX)
        run = RunPaths(run_folder(cfg, hydra_run_dir, checkpoint), SUFFIX)
        try:
            with zipfile.ZipFile(checkpoint) as archive:
                state = json.loads(archive.read(STATE_FILE))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
            raise CheckpointError(
                f"checkpoint {checkpoint} is unreadable or has no run state ({err}): "
                "resume from a checkpoints/last.keras"
            ) from err
        discard_if_unused(hydra_run_dir, keep=run.root)
        return run.create(), {**state, "checkpoint": str(checkpoint)}
    name = cfg.get("name") or cfg["model"]["name"]
    run = RunPaths(new_run_dir(experiments_dir, name, hydra_run_dir), SUFFIX).create()
    return run, None


def _train(
    cfg: dict[str, Any],
    trainer_cfg: TrainerConfig,
    run: RunPaths,
    state: dict[str, Any] | None,
    started: float,
) -> dict[str, float]:
    route_tensorflow_logs()
    devices = configure_devices(trainer_cfg.device, trainer_cfg.devices)
    strategy = make_strategy(devices, trainer_cfg.distributed_backend)
    replicas = strategy.num_replicas_in_sync
    log.info("run folder %s (world size %d: %s)", run.root, replicas, ", ".join(devices))
    log.info("configuration:\n%s", yaml.safe_dump(cfg, sort_keys=False).rstrip())
    seed_everything(cfg["seed"])
    on_gpu = any("GPU" in device for device in devices)
    if trainer_cfg.mixed_precision and on_gpu:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    data_cfg = from_dict(DataConfig, cfg["data"], "data")
    processed_dir = Path(cfg["paths"]["data_dir"]) / "processed"
    first_epoch = state["epoch"] + 1 if state else 1
    datasets, sizes = make_datasets(
        data_cfg,
        processed_dir,
        global_batch_size=data_cfg.batch_size * replicas,
        seed=cfg["seed"],
        first_epoch=first_epoch,
        epochs=trainer_cfg.epochs,
    )
    steps = steps_per_epoch(sizes["train"], data_cfg.batch_size * replicas)
    with strategy.scope():
        if state is None:
            spec = {**cfg["model"], **_data_shape(data_cfg)}
            model = compile_model(build_model(spec), trainer_cfg, steps)
        else:
            model = load_checkpoint(Path(state["checkpoint"]))
            set_seed_states(model, state["seed_states"])
            log.info("resumed from %s at epoch %d", state["checkpoint"], first_epoch)
    log.info("model %s: %d parameters", cfg["model"]["name"], model.count_params())
    chief = is_chief(strategy)
    tracker = create_tracker(cfg["tracking"], run.root, run.name) if chief else Tracker()
    tracker.log_params(cfg)
    history: dict[str, list[float]] = state["history"] if state else {}
    callbacks = _callbacks(cfg, trainer_cfg, run, state, tracker, history, sizes["train"])
    if first_epoch <= trainer_cfg.epochs and not _stopped(state, trainer_cfg):
        model.fit(
            datasets["train"],
            validation_data=datasets["val"],
            epochs=trainer_cfg.epochs,
            initial_epoch=first_epoch - 1,
            steps_per_epoch=steps,
            callbacks=callbacks,
            shuffle=False,  # the stream is shuffled per epoch
            verbose=0,
        )
    stopping = next(c for c in callbacks if isinstance(c, ResumableEarlyStopping))
    if stopping.stopped_epoch:
        log.info(
            "early stopping: no %s improvement for %d epochs",
            trainer_cfg.early_stopping.monitor,
            trainer_cfg.early_stopping.patience,
        )

    # Score the best epoch's weights on validation and test.
    with strategy.scope():
        best = load_checkpoint(run.best_checkpoint, compile=False)
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)
    val = evaluate(best, datasets["val"], loss_fn)
    test = evaluate(best, datasets["test"], loss_fn)
    monitor = history[trainer_cfg.early_stopping.monitor]
    pick = np.argmin if trainer_cfg.early_stopping.monitor == "val_loss" else np.argmax
    best_epoch = int(pick(monitor)) + 1
    epochs_run = len(history["train_loss"])
    metrics = {
        "train_loss": history["train_loss"][best_epoch - 1],
        "val_loss": val.loss,
        "val_accuracy": val.accuracy,
        "test_loss": test.loss,
        "test_accuracy": test.accuracy,
    }
    log.info("best epoch %d of %d: %s", best_epoch, epochs_run, _fmt(metrics))
    if chief:
        _write_outputs(cfg, run, best, history, test, data_cfg, processed_dir, tracker)
        elapsed = state["elapsed_s"] if state else 0.0
        duration = elapsed + time.perf_counter() - started
        write_results(
            run.results_file,
            run_name=run.name,
            framework="tensorflow",
            model=cfg["model"]["name"],
            seed=cfg["seed"],
            epochs_run=epochs_run,
            best_epoch=best_epoch,
            duration_s=round(duration, 3),
            metrics=metrics,
            config=cfg,
        )
        tracker.close()
        log.info("finished in %.1fs: results in %s", duration, run.results_file)
    return metrics


def _callbacks(
    cfg: dict[str, Any],
    trainer_cfg: TrainerConfig,
    run: RunPaths,
    state: dict[str, Any] | None,
    tracker: Tracker,
    history: dict[str, list[float]],
    samples: int,
) -> list[keras.callbacks.Callback]:
    """The callbacks of model.fit; order matters: RunState saves what the others updated."""
    es = trainer_cfg.early_stopping
    mode = "min" if es.monitor == "val_loss" else "max"
    restored = state["early_stopping"] if state else None
    stopping = ResumableEarlyStopping(
        restored, monitor=es.monitor, patience=es.patience, min_delta=es.min_delta, mode=mode
    )
    logger = EpochLogger(trainer_cfg.epochs, samples, tracker, history)
    callbacks: list[keras.callbacks.Callback] = [
        logger,
        keras.callbacks.CSVLogger(str(run.root / "logs" / "history.csv"), append=True),
        keras.callbacks.ModelCheckpoint(
            str(run.best_checkpoint),
            monitor=es.monitor,
            mode=mode,
            save_best_only=True,
            initial_value_threshold=restored["best"] if restored else None,
        ),
        stopping,
        keras.callbacks.TerminateOnNaN(),
    ]
    if cfg["tracking"]["name"] == "tensorboard":
        log_dir = run.root / cfg["tracking"]["log_dir"]
        callbacks.append(keras.callbacks.TensorBoard(str(log_dir), write_graph=False))
    elapsed = state["elapsed_s"] if state else 0.0
    callbacks.append(RunState(run, trainer_cfg, stopping, logger, cfg, elapsed))
    return callbacks


def _stopped(state: dict[str, Any] | None, cfg: TrainerConfig) -> bool:
    """The resumed run had already stopped early."""
    return bool(state) and state["early_stopping"]["wait"] >= cfg.early_stopping.patience


def _data_shape(data_cfg: DataConfig) -> dict[str, int]:
    return {"image_size": data_cfg.image_size, "num_classes": data_cfg.num_classes}


def _write_outputs(
    cfg: dict[str, Any],
    run: RunPaths,
    model: BaseModel,
    history: dict[str, list[float]],
    test: EvalResult,
    data_cfg: DataConfig,
    processed_dir: Path,
    tracker: Tracker,
) -> None:
    """Plots; the final model in models/ as .keras, SavedModel and ONNX; tracker artifacts."""
    plots = [
        plot_loss_curve(history, run.plots_dir / "loss_curve.png"),
        plot_confusion_matrix(
            confusion_matrix(test.labels, test.predictions, data_cfg.num_classes),
            run.plots_dir / "confusion_matrix.png",
            title=f"{cfg['model']['name']}: test accuracy {test.accuracy:.4f}",
        ),
    ]
    models_dir = Path(cfg["paths"]["models_dir"])
    models_dir.mkdir(parents=True, exist_ok=True)
    final = models_dir / f"final_model{SUFFIX}"
    shutil.copyfile(run.best_checkpoint, final)
    stats = load_stats(processed_dir)
    saved_model = models_dir / "final_model_savedmodel"
    shutil.rmtree(saved_model, ignore_errors=True)
    model.export(saved_model, stats["mean"], stats["std"])
    onnx_path = model.export_onnx(
        models_dir / "final_model.onnx",
        stats["mean"],
        stats["std"],
        metadata={"framework": "tensorflow", "model": cfg["model"]["name"], "run": run.name},
    )
    log.info("final model: %s, %s, %s", final, saved_model, onnx_path)
    for path in [*plots, final, onnx_path]:
        tracker.log_artifact(path)


def _fmt(metrics: dict[str, float]) -> str:
    return "  ".join(f"{key} {value:.4f}" for key, value in metrics.items())
