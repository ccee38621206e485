"""A small vision transformer: the image becomes a sequence of patches, read by self-attention."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

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


class SelfAttention(nn.Module):
    """Multi-head self-attention over all tokens (no causal mask: an image has no order)."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.d_model = config.d_model
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)
        self.dropout = config.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, _ = x.shape
        q, k, v = self.qkv(x).split(self.d_model, dim=2)
        # (N, T, C) -> (N, heads, T, C / heads)
        q, k, v = (t.view(batch, tokens, self.n_heads, -1).transpose(1, 2) for t in (q, k, v))
        dropout = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout)
        return self.proj(y.transpose(1, 2).reshape(batch, tokens, self.d_model))


class Block(nn.Module):
    """Pre-norm transformer block: x + attention(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        hidden = config.mlp_ratio * config.d_model
        self.norm1 = nn.LayerNorm(config.d_model)
        self.attention = SelfAttention(config)
        self.norm2 = nn.LayerNorm(config.d_model)
        self.mlp = nn.Sequential(
            nn.Linear(config.d_model, hidden),
            nn.GELU(),
            nn.Linear(hidden, config.d_model),
            nn.Dropout(config.dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class Transformer(BaseModel):
    """Patches -> linear embedding + learned positions -> blocks -> mean over tokens -> classes."""

    config_class = TransformerConfig

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__(config)
        patch = config.patch_size
        n_tokens = (config.image_size // patch) ** 2
        self.embed = nn.Linear(patch * patch, config.d_model)
        self.position = nn.Parameter(torch.zeros(1, n_tokens, config.d_model))
        nn.init.normal_(self.position, std=0.02)
        self.blocks = nn.Sequential(*(Block(config) for _ in range(config.n_layers)))
        self.norm = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.num_classes)

    def patchify(self, images: torch.Tensor) -> torch.Tensor:
        """N x H x W -> N x tokens x (patch * patch), patches in reading order."""
        p = self.config.patch_size
        n, h, w = images.shape
        patches = images.reshape(n, h // p, p, w // p, p).permute(0, 1, 3, 2, 4)
        return patches.reshape(n, (h // p) * (w // p), p * p)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.embed(self.patchify(images)) + self.position
        x = self.norm(self.blocks(x))
        return self.head(x.mean(dim=1))
