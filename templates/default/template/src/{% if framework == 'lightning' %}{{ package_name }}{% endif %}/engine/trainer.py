"""Training with Lightning: train(cfg) -> metrics, which main.py and the tests call.

The configuration becomes a LitClassifier (the network from configs/model plus a partial
optimizer), a DigitsDataModule and an L.Trainer whose callbacks checkpoint, stop early and keep
the history, with the chosen tracker as its logger. One run = one folder (utils/run_dir.py):
checkpoints/last.ckpt every `checkpoint_every` epochs holds the whole state (weights, optimizer,
scheduler, loops, callbacks), so `resume=<run folder>` (or `resume=latest`) continues in that
folder and ends exactly as if never stopped (CPU). Under torchrun every process runs this file,
Lightning's DDP strategy joins them, and rank 0 alone picks the folder, logs and writes.
"""

from __future__ import annotations

import copy
import functools
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import onnxruntime as ort
import torch
import yaml
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import Logger
from lightning.pytorch.strategies import DDPStrategy
from torch import nn
from torch.optim.lr_scheduler import LambdaLR, LRScheduler

from ..data.dataset import DigitsDataModule
from ..data.processing import DataConfig, load_npz, load_stats
from ..models import build_model
from ..models.lit_classifier import LitClassifier, OptimizerFactory, SchedulerFactory
from ..utils.common import (
    DistInfo,
    broadcast_object,
    cleanup_distributed,
    dist_info,
    init_distributed,
    resolve_accelerator,
    resolve_backend,
)
from ..utils.config import (
    ConfigError,
    EarlyStoppingConfig,
    LossConfig,
    OptimizerConfig,
    SchedulerConfig,
    from_dict,
)
from ..utils.loggers import create_logger, log_artifacts
from ..utils.logging_config import setup_logging
from ..utils.results import write_results
from ..utils.run_dir import RunPaths, discard_if_unused, find_checkpoint, run_folder
from ..visualization.plotters import plot_confusion_matrix, plot_loss_curve
from .callbacks import EpochSeed, History
from .evaluator import load_checkpoint

log = logging.getLogger(__name__)

CHECKPOINT_SUFFIX = ".ckpt"
OPTIMIZERS = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}
LOSSES = ("cross_entropy",)


@dataclass
class TrainerConfig:
    """configs/trainer/*.yaml; every field is documented there."""

    epochs: int = 20
    device: str = "auto"
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
        if self.loss.name not in LOSSES:
            raise ConfigError(f"trainer.loss.name={self.loss.name!r}: use one of {list(LOSSES)}")
        if self.scheduler.name not in ("cosine", "constant"):
            raise ConfigError("trainer.scheduler.name must be cosine or constant")
        if self.early_stopping.monitor not in ("val_loss", "val_accuracy"):
            raise ConfigError("trainer.early_stopping.monitor must be val_loss or val_accuracy")


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


def make_optimizer(cfg: OptimizerConfig) -> OptimizerFactory:
    """The optimizer as a partial: the LightningModule supplies its parameters."""
    return functools.partial(OPTIMIZERS[cfg.name], lr=cfg.lr, weight_decay=cfg.weight_decay)


def make_scheduler(cfg: SchedulerConfig, peak: float) -> SchedulerFactory:
    """learning_rate() per optimizer step, as a LambdaLR the module builds once steps are known."""

    def build(
        optimizer: torch.optim.Optimizer, total_steps: int, steps_per_epoch: int
    ) -> LRScheduler:
        warmup_steps = cfg.warmup_epochs * steps_per_epoch
        return LambdaLR(
            optimizer,
            lambda step: learning_rate(step, total_steps, warmup_steps, peak, cfg) / peak,
        )

    return build


def build_module(
    cfg: dict[str, Any], trainer_cfg: TrainerConfig, data_cfg: DataConfig
) -> LitClassifier:
    """The LightningModule for ``cfg``: the network of configs/model and the partial optimizer."""
    net = build_model(
        {**cfg["model"], "image_size": data_cfg.image_size, "num_classes": data_cfg.num_classes}
    )
    return LitClassifier(
        net=net,
        optimizer=make_optimizer(trainer_cfg.optimizer),
        scheduler=make_scheduler(trainer_cfg.scheduler, trainer_cfg.optimizer.lr),
        num_classes=data_cfg.num_classes,
        label_smoothing=trainer_cfg.loss.label_smoothing,
        config=cfg,
    )


def build_trainer(
    trainer_cfg: TrainerConfig,
    run: RunPaths,
    *,
    seed: int,
    dist: DistInfo,
    logger: Logger | None,
    session_start: float | None = None,
    **overrides: Any,
) -> tuple[L.Trainer, History, ModelCheckpoint]:
    """The Trainer with this project's callbacks; ``overrides`` go to L.Trainer as they are."""
    stopping = trainer_cfg.early_stopping
    mode = "min" if stopping.monitor.endswith("loss") else "max"
    history = History(monitor=stopping.monitor, session_start=session_start)
    best = ModelCheckpoint(
        dirpath=run.checkpoints_dir,
        filename="best_model",
        monitor=stopping.monitor,
        mode=mode,
        save_top_k=1,
        enable_version_counter=False,
    )
    last = ModelCheckpoint(
        dirpath=run.checkpoints_dir,
        filename="last",
        every_n_epochs=trainer_cfg.checkpoint_every,
        save_on_train_epoch_end=True,  # after History has recorded the epoch
        enable_version_counter=False,
    )
    callbacks = [
        EpochSeed(seed),
        history,
        EarlyStopping(
            monitor=stopping.monitor,
            patience=stopping.patience,
            min_delta=stopping.min_delta,
            mode=mode,
        ),
        best,
        last,
    ]
    if logger is not None:
        callbacks.append(LearningRateMonitor(logging_interval="epoch"))
    accelerator = resolve_accelerator(trainer_cfg.device)
    use_amp = trainer_cfg.mixed_precision and accelerator == "gpu"
    strategy: Any = "auto"
    if dist.enabled:
        backend = resolve_backend(trainer_cfg.distributed_backend, accelerator)
        strategy = DDPStrategy(process_group_backend=backend)
    options: dict[str, Any] = {
        "accelerator": accelerator,
        "devices": dist.local_world_size,  # 1, or one per process torchrun started
        "num_nodes": dist.num_nodes,
        "strategy": strategy,
        "precision": "bf16-mixed" if use_amp else "32-true",
        "max_epochs": trainer_cfg.epochs,
        "gradient_clip_val": trainer_cfg.grad_clip,
        "deterministic": True,
        "callbacks": callbacks,
        "logger": logger if logger is not None else False,
        "default_root_dir": run.root,
        "enable_progress_bar": False,  # the History callback logs one line per epoch
        "enable_model_summary": False,
        "num_sanity_val_steps": 0,
        "log_every_n_steps": 1,  # only per-epoch values are logged
    }
    return L.Trainer(**(options | overrides)), history, best


def train(
    cfg: dict[str, Any], hydra_run_dir: Path | None = None, **trainer_overrides: Any
) -> dict[str, float]:
    """Run one training from a composed configuration; return the final metrics.

    ``hydra_run_dir`` is the folder Hydra made for this run, used unless the run resumes another.
    """
    started = time.perf_counter()
    trainer_cfg = from_dict(TrainerConfig, cfg["trainer"], "trainer")
    dist = dist_info()
    init_distributed(
        dist,
        resolve_backend(trainer_cfg.distributed_backend, resolve_accelerator(trainer_cfg.device)),
    )
    try:
        run, checkpoint_path = _prepare_run(cfg, dist, hydra_run_dir)
        setup_logging(run.log_file, rank=dist.rank)
        _route_lightning_logs()
        if checkpoint_path is not None:
            cfg = {**load_checkpoint(checkpoint_path)["config"], "resume": cfg["resume"]}
            trainer_cfg = from_dict(TrainerConfig, cfg["trainer"], "trainer")
        try:
            return _train(cfg, trainer_cfg, run, checkpoint_path, dist, started, trainer_overrides)
        except Exception:
            log.exception("training failed")
            raise
    finally:
        cleanup_distributed()


def _prepare_run(
    cfg: dict[str, Any], dist: DistInfo, hydra_run_dir: Path | None
) -> tuple[RunPaths, Path | None]:
    """Rank 0 picks the run folder (a new one, or the resumed run's) and tells the others."""
    experiments_dir = Path(cfg["paths"]["experiments_dir"])
    choice: tuple[str, str | None, str | None] = ("", None, None)  # folder, checkpoint, error
    if dist.is_main:
        try:
            path, folder = None, None
            if cfg.get("resume"):
                path = find_checkpoint(str(cfg["resume"]), experiments_dir, CHECKPOINT_SUFFIX)
            folder = run_folder(cfg, hydra_run_dir, path)
            choice = (str(folder), str(path) if path else None, None)
        except ConfigError as err:
            choice = ("", None, str(err))
    folder, checkpoint_path, error = broadcast_object(choice, dist)
    if error:
        raise ConfigError(error)
    run = RunPaths(Path(folder), CHECKPOINT_SUFFIX)
    if dist.is_main:
        run.create()
    discard_if_unused(hydra_run_dir, keep=run.root)
    return run, Path(checkpoint_path) if checkpoint_path else None


def _train(
    cfg: dict[str, Any],
    trainer_cfg: TrainerConfig,
    run: RunPaths,
    checkpoint_path: Path | None,
    dist: DistInfo,
    started: float,
    trainer_overrides: dict[str, Any],
) -> dict[str, float]:
    log.info("run folder %s (world size %d)", run.root, dist.world_size)
    log.info("configuration:\n%s", yaml.safe_dump(cfg, sort_keys=False).rstrip())
    L.seed_everything(cfg["seed"], workers=True, verbose=False)
    data_cfg = from_dict(DataConfig, cfg["data"], "data")
    processed_dir = Path(cfg["paths"]["data_dir"]) / "processed"
    datamodule = DigitsDataModule(
        data_cfg,
        processed_dir,
        seed=cfg["seed"],
        pin_memory=resolve_accelerator(trainer_cfg.device) == "gpu",
    )
    datamodule.setup()  # fail early, before any process waits on another, when data is missing
    module = build_module(cfg, trainer_cfg, data_cfg)
    log.info(
        "model %s: %d parameters", cfg["model"]["name"], sum(p.numel() for p in module.parameters())
    )
    logger = create_logger(cfg["tracking"], run.root, run.name)
    if logger is not None:
        logger.log_hyperparams(flatten(cfg))
    trainer, history, best = build_trainer(
        trainer_cfg,
        run,
        seed=cfg["seed"],
        dist=dist,
        logger=logger,
        session_start=started,
        **trainer_overrides,
    )
    log.info(
        "strategy %s on %d %s device(s) per node, %d node(s), precision %s",
        type(trainer.strategy).__name__,
        trainer.num_devices,
        resolve_accelerator(trainer_cfg.device),
        trainer.num_nodes,
        trainer.precision,
    )
    if checkpoint_path is not None:
        log.info("resumed from %s", checkpoint_path)
    trainer.fit(module, datamodule=datamodule, ckpt_path=checkpoint_path, weights_only=True)
    if trainer.should_stop and trainer.current_epoch < trainer_cfg.epochs:
        log.info(
            "early stopping: no %s improvement for %d epochs",
            trainer_cfg.early_stopping.monitor,
            trainer_cfg.early_stopping.patience,
        )
    trainer.save_checkpoint(run.last_checkpoint, weights_only=False)  # the final state, always
    # Loading the best checkpoint below restores the callbacks' state of that epoch: keep the whole
    # run's history and wall time first.
    record = copy.deepcopy(history.history)
    epochs_run, best_epoch = history.epochs_run, history.best_epoch
    fit_elapsed, fit_end = history.elapsed_s(), time.perf_counter()

    # Score the best epoch's weights on validation and test.
    best_path = best.best_model_path or str(run.best_checkpoint)
    scoring = {
        "datamodule": datamodule,
        "ckpt_path": best_path,
        "verbose": False,
        "weights_only": True,
    }
    (val,) = trainer.validate(module, **scoring)
    (test,) = trainer.test(module, **scoring)
    metrics = {
        "train_loss": record["train_loss"][best_epoch - 1],
        "val_loss": val["val_loss"],
        "val_accuracy": val["val_accuracy"],
        "test_loss": test["test_loss"],
        "test_accuracy": test["test_accuracy"],
    }
    log.info(
        "best epoch %d of %d: %s",
        best_epoch,
        epochs_run,
        "  ".join(f"{key} {value:.4f}" for key, value in metrics.items()),
    )
    matrix = module.test_confusion.compute().cpu().numpy()  # gathered from every process
    if dist.is_main:
        paths = _write_outputs(cfg, run, module, record, best_epoch, matrix, metrics, processed_dir)
        log_artifacts(logger, paths)
        duration = fit_elapsed + time.perf_counter() - fit_end
        write_results(
            run.results_file,
            run_name=run.name,
            framework="lightning",
            model=cfg["model"]["name"],
            seed=cfg["seed"],
            epochs_run=epochs_run,
            best_epoch=best_epoch,
            duration_s=round(duration, 3),
            metrics=metrics,
            config=cfg,
        )
        if logger is not None:
            logger.finalize("success")
        log.info("finished in %.1fs: results in %s", duration, run.results_file)
    return metrics


def _write_outputs(
    cfg: dict[str, Any],
    run: RunPaths,
    module: LitClassifier,
    history: dict[str, list[float]],
    best_epoch: int,
    matrix: np.ndarray,
    metrics: dict[str, float],
    processed_dir: Path,
) -> list[Path]:
    """Plots, the final model (.pth + .onnx, checked with onnxruntime) in models/."""
    plots = [
        plot_loss_curve(history, run.plots_dir / "loss_curve.png"),
        plot_confusion_matrix(
            matrix,
            run.plots_dir / "confusion_matrix.png",
            title=f"{cfg['model']['name']}: test accuracy {metrics['test_accuracy']:.4f}",
        ),
    ]
    models_dir = Path(cfg["paths"]["models_dir"])
    models_dir.mkdir(parents=True, exist_ok=True)
    net = module.net.cpu().eval()
    final = models_dir / "final_model.pth"
    # The bare network and its configuration: loads without Lightning (evaluator.py).
    torch.save(
        {"framework": "lightning", "epoch": best_epoch, "model": net.state_dict(), "config": cfg},
        final,
    )
    stats = load_stats(processed_dir)
    onnx_path = net.export_onnx(
        models_dir / "final_model.onnx",
        stats["mean"],
        stats["std"],
        metadata={"framework": "lightning", "model": cfg["model"]["name"], "run": run.name},
    )
    raw, _ = load_npz(processed_dir.parent / "interim" / "test.npz")
    difference = check_onnx(onnx_path, net, raw.astype(np.float32), stats["mean"], stats["std"])
    log.info(
        "final model: %s, %s (onnxruntime agrees: max |diff| %.1e)", final, onnx_path, difference
    )
    return [*plots, final, onnx_path]


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"trainer": {"epochs": 3}} -> {"trainer.epochs": 3}: the names trackers show."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _route_lightning_logs() -> None:
    """Lightning's messages go through the project's logging setup (console + run log)."""
    names = [name for name in logging.root.manager.loggerDict if name.startswith("lightning")]
    for name in names:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True
    for handler in logging.getLogger().handlers:
        handler.addFilter(_NoTips())


class _NoTips(logging.Filter):
    """Drop Lightning's advertising tips (about its cloud services) from the run log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in record.getMessage()


def check_onnx(path: Path, net: nn.Module, raw: np.ndarray, mean: float, std: float) -> float:
    """Run the ONNX graph with onnxruntime on raw images; raise unless it matches ``net``."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (onnx_logits,) = session.run(None, {session.get_inputs()[0].name: raw})
    with torch.no_grad():
        torch_logits = net((torch.from_numpy(raw) - mean) / std).numpy()
    np.testing.assert_allclose(onnx_logits, torch_logits, rtol=1e-4, atol=1e-4)
    return float(np.abs(onnx_logits - torch_logits).max())
