"""A small convolutional network for 8x8 images."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from .base_model import BaseModel


@dataclass
class CNNConfig:
    """Shape of the CNN (configs/model/cnn.yaml)."""

    image_size: int = 8
    num_classes: int = 10
    channels: list[int] = field(default_factory=lambda: [32, 64])
    hidden_dim: int = 128
    dropout: float = 0.2


class ConvBlock(nnx.Module):
    """conv 3x3 -> batch norm -> ReLU -> max-pool 2x2 (halves the image size)."""

    def __init__(self, in_channels: int, out_channels: int, *, rngs: nnx.Rngs, dtype: Any) -> None:
        self.conv = nnx.Conv(in_channels, out_channels, (3, 3), dtype=dtype, rngs=rngs)
        self.norm = nnx.BatchNorm(out_channels, momentum=0.9, dtype=dtype, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = nnx.relu(self.norm(self.conv(x)))
        return nnx.max_pool(x, window_shape=(2, 2), strides=(2, 2))


class CNN(BaseModel):
    """A ConvBlock per entry of channels, then an MLP head. Images are NHWC inside."""

    config_class = CNNConfig

    def __init__(self, config: CNNConfig, *, rngs: nnx.Rngs, dtype: Any = jnp.float32) -> None:
        super().__init__(config)
        widths = [1, *config.channels]
        self.blocks = nnx.List(ConvBlock(a, b, rngs=rngs, dtype=dtype) for a, b in pairwise(widths))
        size = config.image_size // 2 ** len(config.channels)
        self.hidden = nnx.Linear(
            widths[-1] * size * size, config.hidden_dim, dtype=dtype, rngs=rngs
        )
        self.dropout = nnx.Dropout(config.dropout, rngs=rngs)
        self.out = nnx.Linear(config.hidden_dim, config.num_classes, dtype=dtype, rngs=rngs)

    def __call__(self, images: jax.Array) -> jax.Array:
        x = images[..., None]  # N x H x W -> N x H x W x 1
        for block in self.blocks:
            x = block(x)
        x = x.reshape(x.shape[0], -1)
        return self.out(self.dropout(nnx.relu(self.hidden(x))))
