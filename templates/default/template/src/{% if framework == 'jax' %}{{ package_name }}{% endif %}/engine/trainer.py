"""Training: the jitted train step, the Trainer loop, and train_and_evaluate(config, workdir).

One run = one folder (utils/run_dir.py). Every `checkpoint_every` epochs the whole state (model,
optimizer, history, early stopping) goes to checkpoints/last.msgpack; data order and dropout keys
derive from (seed, epoch), so a killed run resumes with `resume=<run folder>` (or
`resume=latest`) and ends exactly as if never stopped (CPU).

Data parallelism is JAX's own: one process, a 1-D device mesh; the parameters are replicated,
every batch is split along its first axis over the devices (NamedSharding), and XLA inserts the
gradient all-reduce. `make train-distributed NPROC=2` runs it over 2 host CPU devices.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import yaml
from flax import nnx

from ..data.dataset import (
    ArraySplit,
    load_splits,
    prefetch_to_device,
    steps_per_epoch,
    train_batches,
)
from ..data.processing import DataConfig, load_stats
from ..models import BaseModel, build_model
from ..utils.common import enable_compilation_cache, make_mesh, resolve_devices, seed_everything
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
from ..utils.run_dir import RunPaths, discard_if_unused, find_checkpoint, run_folder
from ..utils.tracking import Tracker, create_tracker
from ..visualization.plotters import plot_confusion_matrix, plot_loss_curve
from .evaluator import (
    EvalResult,
    evaluate,
    load_checkpoint,
    load_model_state,
    loss_fn,
    model_state,
    save_checkpoint,
)
from .exported import export_model

log = logging.getLogger(__name__)

SUFFIX = ".msgpack"  # checkpoints/last.msgpack, best_model.msgpack, models/final_model.msgpack
LOSSES = ("cross_entropy",)


@dataclass
class TrainerConfig:
    """configs/trainer/*.yaml; every field is documented there.

    distributed_backend is torchrun's setting: one JAX process drives all its local devices, so
    it is unused here. ``devices`` (optional in the YAML) caps how many devices the mesh spans;
    by default it spans all of them (1 CPU device unless XLA_FLAGS asks for more).
    """

    epochs: int = 20
    device: str = "auto"
    mixed_precision: bool = True
    distributed_backend: str = "auto"
    checkpoint_every: int = 1
    grad_clip: float | None = 1.0
    devices: int | None = None
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)


def make_schedule(cfg: TrainerConfig, steps: int) -> optax.Schedule:
    """Learning rate per optimizer step: linear warm-up, then cosine decay to min_lr."""
    peak, scheduler = cfg.optimizer.lr, cfg.scheduler
    if scheduler.name == "constant":
        return optax.constant_schedule(peak)
    if scheduler.name != "cosine":
        raise ConfigError(f"trainer.scheduler.name={scheduler.name!r}: use cosine or constant")
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=peak,
        warmup_steps=scheduler.warmup_epochs * steps,
        decay_steps=cfg.epochs * steps,
        end_value=scheduler.min_lr,
    )


def make_optimizer(cfg: TrainerConfig, schedule: optax.Schedule) -> optax.GradientTransformation:
    """Gradient clipping (when set), then the configured optimizer following ``schedule``."""
    optimizer = cfg.optimizer
    if optimizer.name == "adamw":
        tx = optax.adamw(schedule, weight_decay=optimizer.weight_decay)
    elif optimizer.name == "adam":
        tx = optax.adam(schedule)
    elif optimizer.name == "sgd":
        tx = optax.sgd(schedule, momentum=0.9)
    else:
        raise ConfigError(f"trainer.optimizer.name={optimizer.name!r}: use one of adam, adamw, sgd")
    if cfg.grad_clip is None:
        return tx
    return optax.chain(optax.clip_by_global_norm(cfg.grad_clip), tx)


@nnx.jit
def train_step(
    model: BaseModel,
    optimizer: nnx.Optimizer,
    batch: dict[str, jax.Array],
    label_smoothing: jax.Array,
) -> jax.Array:
    """One optimizer step on one batch; returns the batch's mean loss."""
    grad_fn = nnx.value_and_grad(loss_fn, has_aux=True)
    (loss, _), grads = grad_fn(model, batch, label_smoothing)
    optimizer.update(model, grads)
    return loss


class Trainer:
    """Fits a model: epochs of batches, validation, checkpoints and early stopping."""

    def __init__(
        self,
        model: BaseModel,
        cfg: TrainerConfig,
        data: dict[str, ArraySplit],
        run: RunPaths,
        *,
        batch_size: int,
        devices: list[jax.Device],
        tracker: Tracker,
        seed: int,
        config: dict[str, Any],
    ) -> None:
        if cfg.loss.name not in LOSSES:
            raise ConfigError(f"trainer.loss.name={cfg.loss.name!r}: use one of {list(LOSSES)}")
        if cfg.early_stopping.monitor not in ("val_loss", "val_accuracy"):
            raise ConfigError("trainer.early_stopping.monitor must be val_loss or val_accuracy")
        self.cfg, self.data, self.run, self.tracker = cfg, data, run, tracker
        self.seed, self.config, self.key = seed, config, jax.random.key(seed)
        # The global batch holds batch_size samples per device (as under DDP).
        self.batch_size = batch_size * len(devices)
        self.data_sharding, self.replicated = make_mesh(devices)
        self.steps_per_epoch = steps_per_epoch(data["train"], self.batch_size)
        if self.steps_per_epoch == 0:
            raise ConfigError(f"the global batch ({self.batch_size}) exceeds the training set")
        self.schedule = make_schedule(cfg, self.steps_per_epoch)
        self.model = model
        self.optimizer = nnx.Optimizer(model, make_optimizer(cfg, self.schedule), wrt=nnx.Param)
        self._replicate()
        self.label_smoothing = jnp.float32(cfg.loss.label_smoothing)
        self.history: dict[str, list[float]] = {
            "train_loss": [],
            "val_loss": [],
            "val_accuracy": [],
        }
        self.best_score = float("inf")
        self.best_epoch = 0
        self.bad_epochs = 0
        self.elapsed_s = 0.0  # wall time of earlier sessions of this run (resume)

    def _replicate(self) -> None:
        """Copy the model and optimizer state to every device of the mesh."""
        state = nnx.state((self.model, self.optimizer))
        nnx.update((self.model, self.optimizer), jax.device_put(state, self.replicated))

    def evaluate(self, split: str) -> EvalResult:
        return evaluate(
            self.model,
            self.data[split],
            self.batch_size,
            self.data_sharding,
            self.cfg.loss.label_smoothing,
        )

    # -- one epoch ---------------------------------------------------------------------------
    def _run_epoch(self, epoch: int) -> float:
        """One pass over the training set; data order and dropout depend on (seed, epoch) only."""
        self.model.train()
        nnx.reseed(self.model, dropout=jax.random.fold_in(self.key, epoch))
        rng = np.random.default_rng([self.seed, epoch])
        batches = train_batches(self.data["train"], self.batch_size, rng)
        losses = [
            train_step(self.model, self.optimizer, batch, self.label_smoothing)
            for batch in prefetch_to_device(batches, self.data_sharding)
        ]
        return float(np.mean(jax.device_get(losses)))  # one host sync per epoch

    # -- checkpoints -------------------------------------------------------------------------
    def _save_checkpoint(self, path: Path, epoch: int, *, full: bool = True) -> None:
        """Write one dict: the weights, plus optimizer, history and counters when ``full``."""
        checkpoint: dict[str, Any] = {
            "framework": "jax",
            "epoch": epoch,
            "model": model_state(self.model),
            "config": self.config,
        }
        if full:
            optimizer_state = nnx.to_pure_dict(nnx.state(self.optimizer, nnx.Not(nnx.RngState)))
            checkpoint |= {
                "optimizer": jax.device_get(optimizer_state),
                "history": self.history,
                "early_stopping": {
                    "best_score": self.best_score,
                    "best_epoch": self.best_epoch,
                    "bad_epochs": self.bad_epochs,
                },
                "elapsed_s": self.elapsed_s + time.perf_counter() - self._started,
            }
        save_checkpoint(path, checkpoint)

    def restore(self, checkpoint: dict[str, Any]) -> int:
        """Load a full checkpoint; return the epoch to continue from."""
        load_model_state(self.model, checkpoint["model"])
        state = nnx.state(self.optimizer, nnx.Not(nnx.RngState))
        nnx.replace_by_pure_dict(state, checkpoint["optimizer"])
        nnx.update(self.optimizer, state)
        self._replicate()
        self.history = {key: list(values) for key, values in checkpoint["history"].items()}
        stopping = checkpoint["early_stopping"]
        self.best_score, self.best_epoch = stopping["best_score"], stopping["best_epoch"]
        self.bad_epochs = stopping["bad_epochs"]
        self.elapsed_s = checkpoint["elapsed_s"]
        return int(checkpoint["epoch"]) + 1

    # -- the loop ----------------------------------------------------------------------------
    def fit(self, start_epoch: int = 1) -> None:
        """Train from ``start_epoch`` to cfg.epochs or until validation stops improving."""
        self._started = time.perf_counter()
        stopping = self.cfg.early_stopping
        sign = 1.0 if stopping.monitor == "val_loss" else -1.0  # lower is better after the sign
        samples = self.steps_per_epoch * self.batch_size
        for epoch in range(start_epoch, self.cfg.epochs + 1):
            if self.bad_epochs >= stopping.patience:
                break
            tic = time.perf_counter()
            train_loss = self._run_epoch(epoch)
            val = self.evaluate("val")
            seconds = time.perf_counter() - tic
            metrics = {"train_loss": train_loss, "val_loss": val.loss, "val_accuracy": val.accuracy}
            for key, value in metrics.items():
                self.history[key].append(value)
            score = sign * metrics[stopping.monitor]
            improved = score < self.best_score - stopping.min_delta
            if improved:
                self.best_score, self.best_epoch, self.bad_epochs = score, epoch, 0
                self._save_checkpoint(self.run.best_checkpoint, epoch, full=False)
            else:
                self.bad_epochs += 1
            lr = float(self.schedule(epoch * self.steps_per_epoch - 1))
            log.info(
                "epoch %d/%d  train_loss %.4f  val_loss %.4f  val_accuracy %.4f  lr %.2e  "
                "%.2fs (%.0f samples/s)%s",
                epoch,
                self.cfg.epochs,
                train_loss,
                val.loss,
                val.accuracy,
                lr,
                seconds,
                samples / seconds,
                "  *best*" if improved else "",
            )
            self.tracker.log_metrics({**metrics, "lr": lr}, step=epoch)
            if epoch % self.cfg.checkpoint_every == 0 or epoch == self.cfg.epochs:
                self._save_checkpoint(self.run.last_checkpoint, epoch)
        if self.bad_epochs >= stopping.patience:
            log.info(
                "early stopping: no %s improvement for %d epochs",
                stopping.monitor,
                stopping.patience,
            )
            self._save_checkpoint(self.run.last_checkpoint, len(self.history["train_loss"]))


def train(cfg: dict[str, Any], hydra_run_dir: Path | None = None) -> dict[str, float]:
    """Run one training from a composed configuration; return the final metrics.

    ``hydra_run_dir`` is the folder Hydra made for this run, used unless the run resumes another.
    """
    started = time.perf_counter()
    from_dict(TrainerConfig, cfg["trainer"], "trainer")  # a misspelt key fails before any I/O
    enable_compilation_cache()
    run, checkpoint = _prepare_run(cfg, hydra_run_dir)
    setup_logging(run.log_file)
    if checkpoint is not None:
        cfg = {**checkpoint["config"], "resume": cfg["resume"]}
    try:
        return train_and_evaluate(cfg, run, checkpoint, started)
    except Exception:
        log.exception("training failed")
        raise


def _prepare_run(
    cfg: dict[str, Any], hydra_run_dir: Path | None
) -> tuple[RunPaths, dict[str, Any] | None]:
    """Pick the run folder: a new one, or the folder of the run being resumed."""
    experiments_dir = Path(cfg["paths"]["experiments_dir"])
    checkpoint, path = None, None
    if cfg.get("resume"):
        path = find_checkpoint(str(cfg["resume"]), experiments_dir, SUFFIX)
        checkpoint = load_checkpoint(path)
    run = RunPaths(run_folder(cfg, hydra_run_dir, path), SUFFIX).create()
    discard_if_unused(hydra_run_dir, keep=run.root)
    return run, checkpoint


def train_and_evaluate(
    config: dict[str, Any],
    workdir: RunPaths,
    checkpoint: dict[str, Any] | None = None,
    started: float | None = None,
) -> dict[str, float]:
    """Train in the run folder ``workdir``, score the best epoch, write every output."""
    started = time.perf_counter() if started is None else started
    trainer_cfg = from_dict(TrainerConfig, config["trainer"], "trainer")
    data_cfg = from_dict(DataConfig, config["data"], "data")
    devices = resolve_devices(trainer_cfg.device, trainer_cfg.devices)
    log.info(
        "run folder %s (world size %d: %s)",
        workdir.root,
        len(devices),
        ", ".join(str(device) for device in devices),
    )
    log.info("configuration:\n%s", yaml.safe_dump(config, sort_keys=False).rstrip())
    seed_everything(config["seed"])
    processed_dir = Path(config["paths"]["data_dir"]) / "processed"
    data = load_splits(data_cfg, processed_dir)
    mixed = trainer_cfg.mixed_precision and devices[0].platform == "gpu"
    model = build_model(
        {**config["model"], "image_size": data_cfg.image_size, "num_classes": data_cfg.num_classes},
        seed=config["seed"],
        dtype=jnp.bfloat16 if mixed else jnp.float32,
    )
    log.info(
        "model %s: %d parameters, %s on %s",
        config["model"]["name"],
        model.num_parameters(),
        "bfloat16 compute" if mixed else "float32",
        devices[0].platform,
    )
    tracker = create_tracker(config["tracking"], workdir.root, workdir.name)
    tracker.log_params(config)
    trainer = Trainer(
        model,
        trainer_cfg,
        data,
        workdir,
        batch_size=data_cfg.batch_size,
        devices=devices,
        tracker=tracker,
        seed=config["seed"],
        config=config,
    )
    log.info(
        "global batch %d: %d per device x %d, split over mesh axis 'data'",
        trainer.batch_size,
        data_cfg.batch_size,
        len(devices),
    )
    start_epoch = 1
    if checkpoint is not None:
        start_epoch = trainer.restore(checkpoint)
        log.info("resumed from %s at epoch %d", workdir.last_checkpoint, start_epoch)
    trainer.fit(start_epoch)

    # Score the best epoch's weights on validation and test.
    load_model_state(model, load_checkpoint(workdir.best_checkpoint)["model"])
    trainer._replicate()
    val, test = trainer.evaluate("val"), trainer.evaluate("test")
    epochs_run = len(trainer.history["train_loss"])
    metrics = {
        "train_loss": trainer.history["train_loss"][trainer.best_epoch - 1],
        "val_loss": val.loss,
        "val_accuracy": val.accuracy,
        "test_loss": test.loss,
        "test_accuracy": test.accuracy,
    }
    log.info("best epoch %d of %d: %s", trainer.best_epoch, epochs_run, _fmt(metrics))
    _write_outputs(config, workdir, trainer, test, data_cfg, processed_dir, tracker)
    duration = trainer.elapsed_s + time.perf_counter() - started
    write_results(
        workdir.results_file,
        run_name=workdir.name,
        framework="jax",
        model=config["model"]["name"],
        seed=config["seed"],
        epochs_run=epochs_run,
        best_epoch=trainer.best_epoch,
        duration_s=round(duration, 3),
        metrics=metrics,
        config=config,
    )
    tracker.close()
    log.info("finished in %.1fs: results in %s", duration, workdir.results_file)
    return metrics


def _write_outputs(
    cfg: dict[str, Any],
    run: RunPaths,
    trainer: Trainer,
    test: EvalResult,
    data_cfg: DataConfig,
    processed_dir: Path,
    tracker: Tracker,
) -> None:
    """Plots; the final model in models/ (.msgpack weights, .jax export, .onnx); tracker copies."""
    plots = [
        plot_loss_curve(trainer.history, run.plots_dir / "loss_curve.png"),
        plot_confusion_matrix(
            confusion_matrix(test.labels, test.predictions, data_cfg.num_classes),
            run.plots_dir / "confusion_matrix.png",
            title=f"{cfg['model']['name']}: test accuracy {test.accuracy:.4f}",
        ),
    ]
    models_dir = Path(cfg["paths"]["models_dir"])
    final = models_dir / f"final_model{SUFFIX}"
    save_checkpoint(
        final,
        {
            "framework": "jax",
            "epoch": trainer.best_epoch,
            "model": model_state(trainer.model),
            "config": cfg,
        },
    )
    stats = load_stats(processed_dir)
    exported = export_model(trainer.model, models_dir / "final_model.jax", **stats)
    host_model = _host_copy(trainer.model)
    onnx_path = host_model.export_onnx(
        models_dir / "final_model.onnx",
        stats["mean"],
        stats["std"],
        metadata={"framework": "jax", "model": cfg["model"]["name"], "run": run.name},
    )
    log.info("final model: %s, %s, %s", final, exported, onnx_path)
    for path in [*plots, final, exported, onnx_path]:
        tracker.log_artifact(path)


def _host_copy(model: BaseModel) -> BaseModel:
    """The same model with its arrays on the host (exports must not depend on the mesh)."""
    graphdef, state = nnx.split(model)
    return nnx.merge(graphdef, jax.device_get(state))


def _fmt(metrics: dict[str, float]) -> str:
    return "  ".join(f"{key} {value:.4f}" for key, value in metrics.items())
