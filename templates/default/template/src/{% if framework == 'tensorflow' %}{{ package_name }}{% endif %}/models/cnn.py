"""A small convolutional network for 8x8 images."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import keras
import tensorflow as tf

from .base_model import PACKAGE, BaseModel


@dataclass
class CNNConfig:
    """Shape of the CNN (configs/model/cnn.yaml)."""

    image_size: int = 8
    num_classes: int = 10
    channels: list[int] = field(default_factory=lambda: [32, 64])
    hidden_dim: int = 128
    dropout: float = 0.2


@keras.saving.register_keras_serializable(package=PACKAGE)
class CNN(BaseModel):
    """[conv 3x3 -> batch norm -> ReLU -> max-pool 2x2] per entry of channels, then an MLP head."""

    config_class = CNNConfig

    def __init__(self, config: CNNConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        layers: list[keras.layers.Layer] = [keras.layers.Reshape((-1, config.image_size, 1))]
        for out_channels in config.channels:
            layers += [
                keras.layers.Conv2D(out_channels, 3, padding="same", use_bias=False),
                keras.layers.BatchNormalization(momentum=0.9),  # Keras' 0.99 lags on short runs
                keras.layers.ReLU(),
                keras.layers.MaxPooling2D(2),
            ]
        self.features = keras.Sequential(layers, name="features")
        self.head = keras.Sequential(
            [
                keras.layers.Flatten(),
                keras.layers.Dense(config.hidden_dim, activation="relu"),
                keras.layers.Dropout(config.dropout),
                keras.layers.Dense(config.num_classes, dtype="float32"),  # logits in float32
            ],
            name="head",
        )

    def call(self, images: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.head(self.features(images, training=training), training=training)
