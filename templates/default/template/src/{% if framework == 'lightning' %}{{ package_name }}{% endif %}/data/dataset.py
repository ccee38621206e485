"""The LightningDataModule over data/processed/<split>.npz (written by processing.py)."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

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


class DigitsDataModule(L.LightningDataModule):
    """Train, val and test loaders over the processed splits.

    The Trainer moves batches to the device and, under DDP, swaps in a DistributedSampler (and
    calls its set_epoch), so the loaders below are the plain single-process ones.
    """

    def __init__(self, cfg: DataConfig, processed_dir: Path, *, pin_memory: bool = False) -> None:
        super().__init__()
        self.cfg = cfg
        self.processed_dir = processed_dir
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
        return DataLoader(
            self.datasets[split],
            batch_size=self.cfg.batch_size,
            shuffle=shuffle,
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
