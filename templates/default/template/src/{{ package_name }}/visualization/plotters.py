"""Reusable plots, saved as PNG files (no display needed: figures are drawn off-screen)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure


def plot_loss_curve(history: dict[str, Sequence[float]], path: Path) -> Path:
    """Training and validation loss per epoch, with validation accuracy on a second axis."""
    fig = Figure(figsize=(7, 4), layout="tight")
    ax = fig.subplots()
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    ax.plot(epochs, history["train_loss"], label="train loss")
    ax.plot(epochs, history["val_loss"], label="val loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if "val_accuracy" in history:
        acc_ax = ax.twinx()
        acc_ax.plot(epochs, history["val_accuracy"], color="tab:green", label="val accuracy")
        acc_ax.set_ylabel("accuracy")
        acc_ax.legend(loc="center right")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_confusion_matrix(matrix: np.ndarray, path: Path, title: str = "Confusion matrix") -> Path:
    """Counts per (true, predicted) class, annotated."""
    fig = Figure(figsize=(5.5, 5.5), layout="tight")
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues")
    classes = np.arange(matrix.shape[0])
    ax.set_xticks(classes)
    ax.set_yticks(classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = matrix.max() / 2
    for (row, col), count in np.ndenumerate(matrix):
        color = "white" if count > threshold else "black"
        ax.text(col, row, str(count), ha="center", va="center", color=color, fontsize=8)
    return _save(fig, path)


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path
