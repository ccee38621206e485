"""The LightningModule: any classifier ``net`` (cnn.py, transformer.py) plus how to train it.

The architecture and the optimizer come in from outside (a built ``nn.Module`` and a partial
optimizer), so one module trains every architecture the configs name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import lightning as L
import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

OptimizerFactory = Callable[[Iterable[nn.Parameter]], Optimizer]
# (optimizer, total_steps, steps_per_epoch) -> a scheduler stepped after every batch
SchedulerFactory = Callable[[Optimizer, int, int], LRScheduler]


class LitClassifier(L.LightningModule):
    """Cross-entropy training, validation and test of ``net`` with accuracy metrics."""

    def __init__(
        self,
        net: nn.Module,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        *,
        num_classes: int = 10,
        label_smoothing: float = 0.0,
        config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        # The resolved run configuration travels in every checkpoint (weights-only safe).
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"], logger=False)
        self.net = net
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        self.val_accuracy = MulticlassAccuracy(num_classes, average="micro")
        self.test_accuracy = MulticlassAccuracy(num_classes, average="micro")
        self.test_confusion = MulticlassConfusionMatrix(num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        images, labels = batch
        loss = self.loss_fn(self(images).float(), labels)
        self.log(
            "train_loss", loss, on_step=False, on_epoch=True, batch_size=len(labels), sync_dist=True
        )
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        images, labels = batch
        logits = self(images).float()
        self.val_accuracy(logits, labels)
        self.log("val_loss", self.loss_fn(logits, labels), batch_size=len(labels), sync_dist=True)
        self.log("val_accuracy", self.val_accuracy)

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        images, labels = batch
        logits = self(images).float()
        self.test_accuracy(logits, labels)
        self.test_confusion.update(logits, labels)
        self.log("test_loss", self.loss_fn(logits, labels), batch_size=len(labels), sync_dist=True)
        self.log("test_accuracy", self.test_accuracy)

    def on_test_epoch_start(self) -> None:
        self.test_confusion.reset()

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        total_steps = int(self.trainer.estimated_stepping_batches)
        steps_per_epoch = max(1, total_steps // max(1, self.trainer.max_epochs or 1))
        scheduler = self.scheduler_factory(optimizer, total_steps, steps_per_epoch)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
