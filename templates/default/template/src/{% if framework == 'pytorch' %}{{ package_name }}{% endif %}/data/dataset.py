"""PyTorch datasets and loaders over data/processed/<split>.npz."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..utils.common import DistInfo
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


def make_loaders(
    cfg: DataConfig, processed_dir: Path, device: torch.device, dist: DistInfo, seed: int
) -> dict[str, DataLoader]:
    """One loader per split.

    Training batches are shuffled by a DistributedSampler, in a single process too: each rank
    gets its share, and the order depends only on the seed and the epoch (`set_epoch`), so a
    resumed run sees exactly the batches an uninterrupted one would. Validation and test sets
    are small: every rank scores all of them.
    """
    loaders = {}
    for split in SPLITS:
        dataset = DigitsDataset(processed_dir / f"{split}.npz", cfg)
        sampler = None
        if split == "train":
            sampler = DistributedSampler(
                dataset, num_replicas=dist.world_size, rank=dist.rank, shuffle=True, seed=seed
            )
        loaders[split] = DataLoader(
            dataset,
            batch_size=cfg.batch_size,
            sampler=sampler,
            num_workers=cfg.num_workers,
            pin_memory=device.type == "cuda",  # page-locked memory: faster, async host->GPU copies
        )
    return loaders
