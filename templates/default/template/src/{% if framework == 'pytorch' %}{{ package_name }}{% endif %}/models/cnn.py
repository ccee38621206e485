"""A small convolutional network for 8x8 images."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .base_model import BaseModel


@dataclass
class CNNConfig:
    """Shape of the CNN (configs/model/cnn.yaml)."""

    image_size: int = 8
    num_classes: int = 10
    channels: list[int] = field(default_factory=lambda: [32, 64])
    hidden_dim: int = 128
    dropout: float = 0.2


class CNN(BaseModel):
    """[conv 3x3 -> batch norm -> ReLU -> max-pool 2x2] per entry of channels, then an MLP head."""

    config_class = CNNConfig

    def __init__(self, config: CNNConfig) -> None:
        super().__init__(config)
        blocks: list[nn.Module] = []
        in_channels, size = 1, config.image_size
        for out_channels in config.channels:
            blocks += [
                nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            in_channels, size = out_channels, size // 2
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_channels * size * size, config.hidden_dim),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden_dim, config.num_classes),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images.unsqueeze(1)))  # N x H x W -> N x 1 x H x W
