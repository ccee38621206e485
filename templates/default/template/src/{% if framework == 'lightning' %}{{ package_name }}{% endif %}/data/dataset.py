"""The LightningDataModule over data/processed/<split>.npz (written by processing.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .processing import SPLITS, DataConfig, load_npz, validate


class DigitsDataset(Dataset):
    """Normalised images (float32, H x W) and their labels, held in memory."""

    def __init__(self, path: Path, cfg: DataConfig) -> None:
        images, labels = load_npz(path)
        validate(images, labels, cfg, str(path))
        self.images = torch.from_numpy(images).float()
        self.labels = torch.from_numpy(labels).long()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index], self.labels[index]


class EpochShuffle(Sampler[int]):
    """A new random order every epoch, fixed by (seed, epoch) alone.

    The Trainer calls set_epoch before each epoch, so a resumed run sees the same batches as an
    uninterrupted one, whatever else drew random numbers in between.
    """

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        yield from torch.randperm(self.size, generator=generator).tolist()


class DigitsDataModule(L.LightningDataModule):
    """Train, val and test loaders over the processed splits.

    The Trainer moves batches to the device and, under DDP, shards every loader across the
    processes (the training order stays a function of seed and epoch), so the loaders below are
    the plain single-process ones.
    """

    def __init__(
        self, cfg: DataConfig, processed_dir: Path, *, seed: int = 0, pin_memory: bool = False
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.processed_dir = processed_dir
        self.seed = seed
        self.pin_memory = pin_memory
        self.datasets: dict[str, DigitsDataset] = {}

    def setup(self, stage: str | None = None) -> None:
        """Load and validate every split once (a DataError names a missing or bad file)."""
        for split in SPLITS:
            if split not in self.datasets:
                path = self.processed_dir / f"{split}.npz"
                self.datasets[split] = DigitsDataset(path, self.cfg)

    def _loader(self, split: str, *, shuffle: bool = False) -> DataLoader:
        self.setup()
        dataset = self.datasets[split]
        return DataLoader(
            dataset,
            batch_size=self.cfg.batch_size,
            sampler=EpochShuffle(len(dataset), self.seed) if shuffle else None,
            # Worker seeds come from this generator, not from the global RNG that dropout uses.
            generator=torch.Generator().manual_seed(self.seed),
            num_workers=self.cfg.num_workers,
            persistent_workers=self.cfg.num_workers > 0,
            pin_memory=self.pin_memory,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
