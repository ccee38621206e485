"""NumPy batches over data/processed/<split>.npz, prefetched onto the devices.

The digits fit in memory, so batches are plain NumPy slices (no loader processes needed);
prefetch_to_device() keeps the next batches' host-to-device copies in flight while the current
step runs, and places each batch with the mesh's data sharding (split along the batch axis).
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np

from .processing import SPLITS, DataConfig, load_npz, validate

Batch = dict[str, np.ndarray]  # images (N x H x W float32), labels (N,), mask (N,: 1 = real)


@dataclass(frozen=True)
class ArraySplit:
    """Normalised images and labels of one split, in memory."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def load_split(path: Path, cfg: DataConfig) -> ArraySplit:
    """Read and validate one processed split."""
    images, labels = load_npz(path)
    validate(images, labels, cfg, str(path))
    return ArraySplit(images.astype(np.float32), labels.astype(np.int32))


def load_splits(cfg: DataConfig, processed_dir: Path) -> dict[str, ArraySplit]:
    """train, val and test."""
    return {split: load_split(processed_dir / f"{split}.npz", cfg) for split in SPLITS}


def train_batches(data: ArraySplit, batch_size: int, rng: np.random.Generator) -> Iterator[Batch]:
    """Shuffled full batches; the last incomplete one is dropped (a new shuffle every epoch
    drops different samples). Fixed shapes mean one compilation of the train step."""
    order = rng.permutation(len(data))
    for start in range(0, len(order) - batch_size + 1, batch_size):
        index = order[start : start + batch_size]
        yield {
            "images": data.images[index],
            "labels": data.labels[index],
            "mask": np.ones(batch_size, np.float32),
        }


def eval_batches(data: ArraySplit, batch_size: int) -> Iterator[Batch]:
    """Every sample once, in order; the last batch is padded to full size with mask 0."""
    for start in range(0, len(data), batch_size):
        images = data.images[start : start + batch_size]
        labels = data.labels[start : start + batch_size]
        pad = batch_size - len(labels)
        yield {
            "images": np.pad(images, ((0, pad), (0, 0), (0, 0))),
            "labels": np.pad(labels, (0, pad)),
            "mask": np.pad(np.ones(len(labels), np.float32), (0, pad)),
        }


def steps_per_epoch(data: ArraySplit, batch_size: int) -> int:
    """Number of train_batches() per epoch."""
    return len(data) // batch_size


def prefetch_to_device(
    batches: Iterator[Batch], sharding: jax.sharding.Sharding, size: int = 2
) -> Iterator[dict[str, jax.Array]]:
    """Put ``size`` batches on the devices ahead of use (jax.device_put copies asynchronously)."""
    queue: collections.deque[dict[str, jax.Array]] = collections.deque()
    for batch in batches:
        queue.append(jax.device_put(batch, sharding))
        if len(queue) > size:
            yield queue.popleft()
    while queue:
        yield queue.popleft()
