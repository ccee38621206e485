"""A small vision transformer: the image becomes a sequence of patches, read by self-attention."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from .base_model import BaseModel


@dataclass
class TransformerConfig:
    """Shape of the transformer (configs/model/transformer.yaml)."""

    image_size: int = 8
    num_classes: int = 10
    patch_size: int = 2
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    mlp_ratio: int = 2
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.image_size % self.patch_size:
            raise ValueError("model.patch_size must divide model.image_size")
        if self.d_model % self.n_heads:
            raise ValueError("model.d_model must be divisible by model.n_heads")


class Block(nnx.Module):
    """Pre-norm transformer block: x + attention(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, config: TransformerConfig, *, rngs: nnx.Rngs, dtype: Any) -> None:
        width, hidden = config.d_model, config.mlp_ratio * config.d_model
        self.norm1 = nnx.LayerNorm(width, dtype=dtype, rngs=rngs)
        self.attention = nnx.MultiHeadAttention(
            num_heads=config.n_heads,
            in_features=width,
            dropout_rate=config.dropout,
            decode=False,
            deterministic=False,  # like nnx.Dropout: model.eval() turns it off
            dtype=dtype,
            rngs=rngs,
        )
        self.norm2 = nnx.LayerNorm(width, dtype=dtype, rngs=rngs)
        self.fc1 = nnx.Linear(width, hidden, dtype=dtype, rngs=rngs)
        self.fc2 = nnx.Linear(hidden, width, dtype=dtype, rngs=rngs)
        self.dropout = nnx.Dropout(config.dropout, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = x + self.attention(self.norm1(x))  # no mask: every token sees every other
        return x + self.dropout(self.fc2(nnx.gelu(self.fc1(self.norm2(x)))))


class Transformer(BaseModel):
    """Patches -> linear embedding + learned positions -> blocks -> mean over tokens -> classes."""

    config_class = TransformerConfig

    def __init__(
        self, config: TransformerConfig, *, rngs: nnx.Rngs, dtype: Any = jnp.float32
    ) -> None:
        super().__init__(config)
        patch = config.patch_size
        n_tokens = (config.image_size // patch) ** 2
        self.embed = nnx.Linear(patch * patch, config.d_model, dtype=dtype, rngs=rngs)
        self.position = nnx.Param(
            0.02 * jax.random.normal(rngs.params(), (1, n_tokens, config.d_model))
        )
        self.blocks = nnx.List(
            Block(config, rngs=rngs, dtype=dtype) for _ in range(config.n_layers)
        )
        self.norm = nnx.LayerNorm(config.d_model, dtype=dtype, rngs=rngs)
        self.head = nnx.Linear(config.d_model, config.num_classes, dtype=dtype, rngs=rngs)

    def patchify(self, images: jax.Array) -> jax.Array:
        """N x H x W -> N x tokens x (patch * patch), patches in reading order."""
        p = self.config.patch_size
        n, h, w = images.shape
        patches = images.reshape(n, h // p, p, w // p, p).transpose(0, 1, 3, 2, 4)
        return patches.reshape(n, (h // p) * (w // p), p * p)

    def __call__(self, images: jax.Array) -> jax.Array:
        x = self.embed(self.patchify(images)) + self.position[...]
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x).mean(axis=1))
