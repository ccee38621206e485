"""Training: the Trainer loop, and train(cfg) -> metrics, which main.py and the tests call.

One run = one folder (utils/run_dir.py). Every `checkpoint_every` epochs the whole state (model,
optimizer, RNG states, history, early stopping) goes to checkpoints/last.pth, so a killed run
resumes with `resume=<run folder>` (or `resume=latest`) and ends exactly as if never stopped (CPU).
Under torchrun every process runs this file; rank 0 alone picks the folder, logs and writes.
"""

from __future__ import annotations

import logging
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ..data.dataset import make_loaders
from ..data.processing import DataConfig, DataError, load_stats
from ..models import BaseModel, build_model
from ..utils.common import (
    DistInfo,
    all_reduce_mean,
    barrier,
    broadcast_object,
    cleanup_distributed,
    init_distributed,
    resolve_device,
    rng_state,
    seed_everything,
    set_rng_state,
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
from ..utils.run_dir import RunPaths, discard_if_unused, find_checkpoint, run_folder
from ..utils.tracking import Tracker, create_tracker
from ..visualization.plotters import plot_confusion_matrix, plot_loss_curve
from .evaluator import CheckpointError, EvalResult, evaluate, load_checkpoint

log = logging.getLogger(__name__)

OPTIMIZERS = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}
LOSSES = {"cross_entropy": nn.CrossEntropyLoss}
SCHEDULES = ("cosine", "constant")


@dataclass
class TrainerConfig:
    """configs/trainer/*.yaml; every field is documented there."""

    epochs: int = 15
    device: str = "auto"
    mixed_precision: bool = True
    distributed_backend: str = "auto"
    checkpoint_every: int = 1
    grad_clip: float | None = 1.0
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)


def learning_rate(
    step: int, total_steps: int, warmup_steps: int, peak: float, cfg: SchedulerConfig
) -> float:
    """Learning rate at optimizer step ``step``: linear warm-up, then cosine decay to min_lr."""
    if cfg.name == "constant":
        return peak
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return cfg.min_lr + 0.5 * (peak - cfg.min_lr) * (1 + math.cos(math.pi * min(progress, 1.0)))


class Trainer:
    """Fits a model: epochs of batches, validation, checkpoints and early stopping."""

    def __init__(
        self,
        model: BaseModel,
        cfg: TrainerConfig,
        loaders: dict[str, DataLoader],
        run: RunPaths,
        *,
        device: torch.device,
        dist: DistInfo,
        tracker: Tracker,
        config: dict[str, Any],
    ) -> None:
        if cfg.optimizer.name not in OPTIMIZERS:
            raise ConfigError(
                f"trainer.optimizer.name={cfg.optimizer.name!r}: use one of {sorted(OPTIMIZERS)}"
            )
        if cfg.loss.name not in LOSSES:
            raise ConfigError(f"trainer.loss.name={cfg.loss.name!r}: use one of {sorted(LOSSES)}")
        if cfg.scheduler.name not in SCHEDULES:
            raise ConfigError(
                f"trainer.scheduler.name={cfg.scheduler.name!r}: use one of {SCHEDULES}"
            )
        if cfg.early_stopping.monitor not in ("val_loss", "val_accuracy"):
            raise ConfigError("trainer.early_stopping.monitor must be val_loss or val_accuracy")
        self.cfg, self.loaders, self.run = cfg, loaders, run
        self.device, self.dist, self.tracker = device, dist, tracker
        self.config = config  # the resolved configuration, saved in every checkpoint
        self.raw_model = model.to(device)  # the plain module: what checkpoints store
        self.model: nn.Module = (
            DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None
            )
            if dist.enabled
            else model
        )
        optimizer = cfg.optimizer
        self.optimizer = OPTIMIZERS[optimizer.name](
            model.parameters(), lr=optimizer.lr, weight_decay=optimizer.weight_decay
        )
        self.loss_fn = LOSSES[cfg.loss.name](label_smoothing=cfg.loss.label_smoothing)
        use_amp = cfg.mixed_precision and device.type == "cuda"
        self.autocast = (
            (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_amp else nullcontext
        )
        self.steps_per_epoch = len(loaders["train"])
        self.total_steps = cfg.epochs * self.steps_per_epoch
        self.warmup_steps = cfg.scheduler.warmup_epochs * self.steps_per_epoch
        self.history: dict[str, list[float]] = {
            "train_loss": [],
            "val_loss": [],
            "val_accuracy": [],
        }
        self.best_score = math.inf
        self.best_epoch = 0
        self.bad_epochs = 0
        self.elapsed_s = 0.0  # wall time of earlier sessions of this run (resume)

    # -- one step, one epoch -------------------------------------------------------------
    def _run_batch(self, images: torch.Tensor, labels: torch.Tensor, step: int) -> float:
        lr = learning_rate(
            step, self.total_steps, self.warmup_steps, self.cfg.optimizer.lr, self.cfg.scheduler
        )
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        with self.autocast():
            loss = self.loss_fn(self.model(images).float(), labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.optimizer.step()
        return loss.item()

    def _run_epoch(self, epoch: int) -> float:
        loader = self.loaders["train"]
        loader.sampler.set_epoch(epoch)  # a new order per epoch: a function of (seed, epoch) only
        self.model.train()
        total, count = 0.0, 0
        for index, (images, labels) in enumerate(loader):
            images = images.to(self.device, non_blocking=True)
            labels = labels.to(self.device, non_blocking=True)
            step = (epoch - 1) * self.steps_per_epoch + index
            total += self._run_batch(images, labels, step) * len(labels)
            count += len(labels)
        return all_reduce_mean(total / count, self.dist, self.device)

    # -- checkpoints -------------------------------------------------------------------------
    def _save_checkpoint(self, path: Path, epoch: int, *, full: bool = True) -> None:
        """Write one dict: the weights, plus optimizer, RNG, history and counters when ``full``.

        The learning rate is a pure function of the step (learning_rate()): no scheduler state.
        """
        if not self.dist.is_main:
            return
        checkpoint: dict[str, Any] = {
            "framework": "pytorch",
            "epoch": epoch,
            "model": self.raw_model.state_dict(),
            "config": self.config,
        }
        if full:
            checkpoint |= {
                "optimizer": self.optimizer.state_dict(),
                "rng": rng_state(),
                "history": self.history,
                "early_stopping": {
                    "best_score": self.best_score,
                    "best_epoch": self.best_epoch,
                    "bad_epochs": self.bad_epochs,
                },
                "elapsed_s": self.elapsed_s + time.perf_counter() - self._started,
            }
        tmp = path.with_suffix(".tmp")
        torch.save(checkpoint, tmp)
        tmp.replace(path)  # atomic: a crash never leaves half a checkpoint behind

    def restore(self, checkpoint: dict[str, Any]) -> int:
        """Load a full checkpoint; return the epoch to continue from."""
        self.raw_model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        set_rng_state(checkpoint["rng"])
        self.history = checkpoint["history"]
        stopping = checkpoint["early_stopping"]
        self.best_score, self.best_epoch = stopping["best_score"], stopping["best_epoch"]
        self.bad_epochs = stopping["bad_epochs"]
        self.elapsed_s = checkpoint["elapsed_s"]
        return checkpoint["epoch"] + 1

    # -- the loop ----------------------------------------------------------------------------
    def fit(self, start_epoch: int = 1) -> None:
        """Train from ``start_epoch`` to cfg.epochs or until validation stops improving."""
        self._started = time.perf_counter()
        stopping = self.cfg.early_stopping
        sign = 1.0 if stopping.monitor == "val_loss" else -1.0  # lower is better after the sign
        samples = len(self.loaders["train"].dataset)
        for epoch in range(start_epoch, self.cfg.epochs + 1):
            if self.bad_epochs >= stopping.patience:
                break
            tic = time.perf_counter()
            train_loss = self._run_epoch(epoch)
            val = evaluate(self.raw_model, self.loaders["val"], self.loss_fn, self.device)
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
            lr = self.optimizer.param_groups[0]["lr"]
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
    trainer_cfg = from_dict(TrainerConfig, cfg["trainer"], "trainer")
    dist = init_distributed(trainer_cfg.distributed_backend)
    try:
        run, checkpoint = _prepare_run(cfg, dist, hydra_run_dir)
        setup_logging(run.log_file, rank=dist.rank)
        if checkpoint is not None:
            cfg = {**checkpoint["config"], "resume": cfg["resume"]}
            trainer_cfg = from_dict(TrainerConfig, cfg["trainer"], "trainer")
        try:
            return _train(cfg, trainer_cfg, run, checkpoint, dist, started)
        except (ConfigError, DataError, CheckpointError) as err:
            log.error("training stopped: %s", err)  # a user error: the message says it all
            raise
        except Exception:
            log.exception("training failed")
            raise
    finally:
        cleanup_distributed(dist)


def _prepare_run(
    cfg: dict[str, Any], dist: DistInfo, hydra_run_dir: Path | None
) -> tuple[RunPaths, dict[str, Any] | None]:
    """Rank 0 picks the run folder (a new one, or the resumed run's) and tells the others."""
    experiments_dir = Path(cfg["paths"]["experiments_dir"])
    choice: tuple[str, str | None, str | None] = ("", None, None)  # folder, checkpoint, error
    if dist.is_main:
        try:
            path, folder = None, None
            if cfg.get("resume"):
                path = find_checkpoint(str(cfg["resume"]), experiments_dir)
                load_checkpoint(path)  # fail here, before any folder is made, if unreadable
            folder = run_folder(cfg, hydra_run_dir, path)
            choice = (str(folder), str(path) if path else None, None)
        except (ConfigError, CheckpointError) as err:
            choice = ("", None, f"{type(err).__name__}: {err}")
    folder, checkpoint_path, error = broadcast_object(choice, dist)
    discard_if_unused(hydra_run_dir, keep=Path(folder) if folder else None)
    if error:
        kind, _, message = error.partition(": ")
        raise (CheckpointError if kind == "CheckpointError" else ConfigError)(message)
    run = RunPaths(Path(folder)).create() if dist.is_main else RunPaths(Path(folder))
    checkpoint = load_checkpoint(Path(checkpoint_path)) if checkpoint_path else None
    return run, checkpoint


def _train(
    cfg: dict[str, Any],
    trainer_cfg: TrainerConfig,
    run: RunPaths,
    checkpoint: dict[str, Any] | None,
    dist: DistInfo,
    started: float,
) -> dict[str, float]:
    log.info("run folder %s (world size %d)", run.root, dist.world_size)
    log.info("configuration:\n%s", yaml.safe_dump(cfg, sort_keys=False).rstrip())
    seed_everything(cfg["seed"])
    data_cfg = from_dict(DataConfig, cfg["data"], "data")
    processed_dir = Path(cfg["paths"]["data_dir"]) / "processed"
    device = resolve_device(trainer_cfg.device, dist.local_rank)
    loaders = make_loaders(data_cfg, processed_dir, device, dist, cfg["seed"])
    model = build_model(
        {**cfg["model"], "image_size": data_cfg.image_size, "num_classes": data_cfg.num_classes}
    )
    log.info(
        "model %s: %d parameters, device %s", cfg["model"]["name"], model.num_parameters(), device
    )
    tracker = create_tracker(cfg["tracking"], run.root, run.name) if dist.is_main else Tracker()
    tracker.log_params(cfg)
    trainer = Trainer(
        model,
        trainer_cfg,
        loaders,
        run,
        device=device,
        dist=dist,
        tracker=tracker,
        config=cfg,
    )
    start_epoch = 1
    if checkpoint is not None:
        start_epoch = trainer.restore(checkpoint)
        log.info("resumed from %s at epoch %d", run.last_checkpoint, start_epoch)
    trainer.fit(start_epoch)

    # Score the best epoch's weights on validation and test.
    barrier(dist)  # rank 0 has written the last best_model.pth
    best = load_checkpoint(run.best_checkpoint, device)
    trainer.raw_model.load_state_dict(best["model"])
    val = evaluate(trainer.raw_model, loaders["val"], trainer.loss_fn, device)
    test = evaluate(trainer.raw_model, loaders["test"], trainer.loss_fn, device)
    epochs_run = len(trainer.history["train_loss"])
    metrics = {
        "train_loss": trainer.history["train_loss"][trainer.best_epoch - 1],
        "val_loss": val.loss,
        "val_accuracy": val.accuracy,
        "test_loss": test.loss,
        "test_accuracy": test.accuracy,
    }
    log.info("best epoch %d of %d: %s", trainer.best_epoch, epochs_run, _fmt(metrics))
    if dist.is_main:
        _write_outputs(cfg, run, trainer, test, data_cfg, processed_dir, tracker)
        duration = trainer.elapsed_s + time.perf_counter() - started
        write_results(
            run.results_file,
            run_name=run.name,
            framework="pytorch",
            model=cfg["model"]["name"],
            seed=cfg["seed"],
            epochs_run=epochs_run,
            best_epoch=trainer.best_epoch,
            duration_s=round(duration, 3),
            metrics=metrics,
            config=cfg,
        )
        tracker.close()
        log.info("finished in %.1fs: results in %s", duration, run.results_file)
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
    """Plots, the final model (.pth + .onnx) in models/, and the same as tracker artifacts."""
    plots = [
        plot_loss_curve(trainer.history, run.plots_dir / "loss_curve.png"),
        plot_confusion_matrix(
            confusion_matrix(test.labels, test.predictions, data_cfg.num_classes),
            run.plots_dir / "confusion_matrix.png",
            title=f"{cfg['model']['name']}: test accuracy {test.accuracy:.4f}",
        ),
    ]
    models_dir = Path(cfg["paths"]["models_dir"])
    models_dir.mkdir(parents=True, exist_ok=True)
    final = models_dir / "final_model.pth"
    torch.save(
        {
            "framework": "pytorch",
            "epoch": trainer.best_epoch,
            "model": trainer.raw_model.state_dict(),
            "config": cfg,
        },
        final,
    )
    stats = load_stats(processed_dir)
    onnx_path = trainer.raw_model.cpu().export_onnx(
        models_dir / "final_model.onnx",
        stats["mean"],
        stats["std"],
        metadata={"framework": "pytorch", "model": cfg["model"]["name"], "run": run.name},
    )
    trainer.raw_model.to(trainer.device)
    log.info("final model: %s, %s", final, onnx_path)
    for path in [*plots, final, onnx_path]:
        tracker.log_artifact(path)


def _fmt(metrics: dict[str, float]) -> str:
    return "  ".join(f"{key} {value:.4f}" for key, value in metrics.items())
