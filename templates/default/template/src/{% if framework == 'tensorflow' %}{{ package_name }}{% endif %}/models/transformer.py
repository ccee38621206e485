"""A small vision transformer: the image becomes a sequence of patches, read by self-attention."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import tensorflow as tf
from keras import layers, ops

from .base_model import PACKAGE, BaseModel


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


@keras.saving.register_keras_serializable(package=PACKAGE)
def gelu(x: tf.Tensor) -> tf.Tensor:
    """GELU, tanh approximation: the exact form's erfc has no ONNX converter."""
    return keras.activations.gelu(x, approximate=True)


@keras.saving.register_keras_serializable(package=PACKAGE)
class Block(layers.Layer):
    """Pre-norm transformer block: x + attention(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, d_model: int, n_heads: int, mlp_ratio: int, dropout: float, **kwargs: Any):
        super().__init__(**kwargs)
        self.settings = {"d_model": d_model, "n_heads": n_heads, "mlp_ratio": mlp_ratio}
        self.settings["dropout"] = dropout
        self.norm1 = layers.LayerNormalization(epsilon=1e-5)
        self.attention = layers.MultiHeadAttention(n_heads, d_model // n_heads, dropout=dropout)
        self.norm2 = layers.LayerNormalization(epsilon=1e-5)
        self.mlp = keras.Sequential(
            [
                layers.Dense(mlp_ratio * d_model, activation=gelu),
                layers.Dense(d_model),
                layers.Dropout(dropout),
            ]
        )

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        y = self.norm1(x)
        x = x + self.attention(y, y, training=training)
        return x + self.mlp(self.norm2(x), training=training)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.settings}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Transformer(BaseModel):
    """Patches -> linear embedding + learned positions -> blocks -> mean over tokens -> classes."""

    config_class = TransformerConfig

    def __init__(self, config: TransformerConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        n_tokens = (config.image_size // config.patch_size) ** 2
        self.embed = layers.Dense(config.d_model, name="embed")
        self.position = self.add_weight(
            shape=(1, n_tokens, config.d_model),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="position",
        )
        self.blocks = [
            Block(config.d_model, config.n_heads, config.mlp_ratio, config.dropout)
            for _ in range(config.n_layers)
        ]
        self.norm = layers.LayerNormalization(epsilon=1e-5)
        self.head = layers.Dense(config.num_classes, dtype="float32", name="head")

    def patchify(self, images: tf.Tensor) -> tf.Tensor:
        """N x H x W -> N x tokens x (patch * patch), patches in reading order."""
        p, size = self.config.patch_size, self.config.image_size
        n = size // p
        patches = ops.reshape(images, (-1, n, p, n, p))
        patches = ops.transpose(patches, (0, 1, 3, 2, 4))
        return ops.reshape(patches, (-1, n * n, p * p))

    def call(self, images: tf.Tensor, training: bool = False) -> tf.Tensor:
        x = self.embed(self.patchify(images)) + self.position
        for block in self.blocks:
            x = block(x, training=training)
        return self.head(ops.mean(self.norm(x), axis=1))
