"""Callbacks of this project, next to Lightning's own ModelCheckpoint and EarlyStopping."""

from __future__ import annotations

import logging
import time
from typing import Any

import lightning as L
from lightning.fabric.utilities.seed import seed_everything

log = logging.getLogger(__name__)

HISTORY_KEYS = ("train_loss", "val_loss", "val_accuracy")


class EpochSeed(L.Callback):
    """Reseed every RNG at the start of each epoch from (seed, epoch).

    The data order and dropout of epoch N then depend on N alone, not on what ran before: a run
    resumed from the checkpoint of epoch N-1 trains exactly as the uninterrupted run did.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        seed_everything(self.seed + trainer.current_epoch, workers=True, verbose=False)


class History(L.Callback):
    """Per-epoch metrics and the run's wall time, logged and kept in every checkpoint."""

    def __init__(self, monitor: str = "val_loss", session_start: float | None = None) -> None:
        self.monitor = monitor
        self.history: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}
        self.earlier_s = 0.0  # wall time of earlier sessions of this run (resume)
        self._session_start = time.perf_counter() if session_start is None else session_start
        self._epoch_start = self._session_start

    @property
    def epochs_run(self) -> int:
        return len(self.history["train_loss"])

    @property
    def best_epoch(self) -> int:
        """1-based epoch of the best monitored value (the first one, as ModelCheckpoint keeps)."""
        values = self.history[self.monitor]
        sign = 1.0 if self.monitor.endswith("loss") else -1.0
        scores = [sign * value for value in values]
        return scores.index(min(scores)) + 1 if scores else 0

    def elapsed_s(self) -> float:
        return self.earlier_s + time.perf_counter() - self._session_start

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        metrics = {key: float(trainer.callback_metrics[key]) for key in HISTORY_KEYS}
        for key, value in metrics.items():
            self.history[key].append(value)
        seconds = time.perf_counter() - self._epoch_start
        samples = len(trainer.train_dataloader.dataset)
        lr = trainer.optimizers[0].param_groups[0]["lr"]
        best = self.best_epoch == self.epochs_run
        log.info(
            "epoch %d/%d  train_loss %.4f  val_loss %.4f  val_accuracy %.4f  lr %.2e  "
            "%.2fs (%.0f samples/s)%s",
            trainer.current_epoch + 1,
            trainer.max_epochs,
            metrics["train_loss"],
            metrics["val_loss"],
            metrics["val_accuracy"],
            lr,
            seconds,
            samples / seconds,
            "  *best*" if best else "",
        )

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history, "elapsed_s": self.elapsed_s()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = {key: list(values) for key, values in state_dict["history"].items()}
        self.earlier_s = state_dict["elapsed_s"]
