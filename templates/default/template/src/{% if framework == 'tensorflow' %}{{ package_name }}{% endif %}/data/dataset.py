"""tf.data pipelines over data/processed/<split>.npz: cache, shuffle, batch, prefetch.

Labels are one-hot (label smoothing needs them). The training stream is keyed by epoch: epoch e
is shuffled with seed + e, so a resumed run sees the same batches as an uninterrupted one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from .processing import SPLITS, DataConfig, load_npz, validate

AUTOTUNE = tf.data.AUTOTUNE


def load_split(path: Path, cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """Validated normalised images (float32, N x H x W) and integer labels of one split."""
    images, labels = load_npz(path)
    validate(images, labels, cfg, str(path))
    return images.astype(np.float32), labels.astype(np.int64)


def to_dataset(images: np.ndarray, labels: np.ndarray, num_classes: int) -> tf.data.Dataset:
    """Unbatched (image, one-hot label) pairs, cached in memory after the first pass."""
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    return dataset.map(
        lambda x, y: (x, tf.one_hot(y, num_classes)), num_parallel_calls=AUTOTUNE
    ).cache()


def training_stream(
    examples: tf.data.Dataset,
    size: int,
    batch_size: int,
    seed: int,
    first_epoch: int,
    epochs: int,
) -> tf.data.Dataset:
    """Batches of epochs first_epoch..epochs (1-based) in a row, each epoch shuffled with seed + e.

    model.fit reads it with steps_per_epoch = steps_per_epoch(size, batch_size).
    """

    def epoch_batches(epoch: tf.Tensor) -> tf.data.Dataset:
        shuffled = examples.shuffle(size, seed=seed + epoch, reshuffle_each_iteration=False)
        return shuffled.batch(batch_size)

    epochs_ds = tf.data.Dataset.range(first_epoch, epochs + 1)
    return epochs_ds.flat_map(epoch_batches).prefetch(AUTOTUNE)


def steps_per_epoch(size: int, batch_size: int) -> int:
    """Batches in one epoch (the last one may be smaller)."""
    return -(-size // batch_size)


def make_datasets(
    cfg: DataConfig,
    processed_dir: Path,
    *,
    global_batch_size: int,
    seed: int,
    first_epoch: int = 1,
    epochs: int = 1,
) -> tuple[dict[str, tf.data.Dataset], dict[str, int]]:
    """The training stream and batched val/test datasets, plus the size of each split.

    ``global_batch_size`` is data.batch_size x replicas: tf.distribute splits each batch.
    """
    datasets, sizes = {}, {}
    for split in SPLITS:
        images, labels = load_split(processed_dir / f"{split}.npz", cfg)
        sizes[split] = len(labels)
        examples = to_dataset(images, labels, cfg.num_classes)
        if split == "train":
            datasets[split] = training_stream(
                examples, len(labels), global_batch_size, seed, first_epoch, epochs
            )
        else:
            datasets[split] = examples.batch(global_batch_size).prefetch(AUTOTUNE)
    return datasets, sizes
