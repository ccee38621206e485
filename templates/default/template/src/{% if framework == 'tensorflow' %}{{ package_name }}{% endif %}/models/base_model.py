"""The interface every architecture shares: normalised images (N x H x W) in, class logits out.

Models are Keras 3 subclassed models with a config dataclass; get_config/from_config make them
savable as .keras files. export() writes the serving forms, which take raw pixels (0-16):
a SavedModel (TF Serving, TFLite) and an ONNX graph (engine/predictor.py, any language).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, ClassVar

import keras
import tensorflow as tf

PACKAGE = __name__.split(".")[0]  # the key models are registered under for .keras files


class BaseModel(keras.Model):
    """Base class of the models: a config dataclass, call(), serialisation and export."""

    config_class: ClassVar[type]

    def __init__(self, config: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config

    def call(self, images: tf.Tensor, training: bool = False) -> tf.Tensor:  # pragma: no cover
        """Logits of shape N x num_classes for normalised images of shape N x H x W."""
        raise NotImplementedError

    def build_for_images(self) -> BaseModel:
        """Create the weights by running a batch of zeros through the model."""
        size = self.config.image_size
        self(keras.ops.zeros((1, size, size)))
        return self

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "config": dataclasses.asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BaseModel:
        config = dict(config)
        return cls(cls.config_class(**config.pop("config")), **config)

    # -- serving forms ---------------------------------------------------------------------------
    def raw_input_model(self, mean: float, std: float) -> keras.Model:
        """Raw pixels -> normalisation (mean, std built in) -> this model: what serving runs."""
        size = self.config.image_size
        images = keras.Input((size, size), name="images")
        # (x - mean) / std as x * scale + offset: constants in the graph, not variables.
        normalise = keras.layers.Rescaling(1 / std, offset=-mean / std, name="normalise")
        return keras.Model(images, self(normalise(images)), name=f"{self.name}_raw_input")

    def export(self, path: Path, mean: float, std: float) -> Path:  # type: ignore[override]
        """A SavedModel of the raw-input model (signature `serve`: images -> logits)."""
        tf.get_logger().setLevel(logging.WARNING)  # no "Assets written to" lines
        self.raw_input_model(mean, std).export(str(path), format="tf_saved_model", verbose=False)
        return path

    def export_onnx(
        self, path: Path, mean: float, std: float, metadata: dict[str, str] | None = None
    ) -> Path:
        """Write an ONNX graph (input `images`, output `logits`) that takes raw pixels.

        The batch dimension is dynamic. ``metadata`` lands in the model's metadata_props.
        """
        import onnx  # only needed here
        import tf2onnx

        logging.getLogger("tf2onnx").setLevel(logging.WARNING)  # keep the run log readable

        raw = self.raw_input_model(mean, std)
        size = self.config.image_size
        signature = [tf.TensorSpec((None, size, size), tf.float32, name="images")]

        @tf.function(input_signature=signature)
        def serve(images: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"logits": raw(images, training=False)}

        path.parent.mkdir(parents=True, exist_ok=True)
        proto, _ = tf2onnx.convert.from_function(serve, input_signature=signature, opset=17)
        unconverted = sorted(
            {node.op_type for node in proto.graph.node if node.domain not in ("", "ai.onnx")}
        )
        if unconverted:  # tf2onnx leaves ops it cannot convert in TensorFlow's domain
            raise RuntimeError(f"ONNX export: no converter for {', '.join(unconverted)}")
        for key, value in (metadata or {}).items():
            proto.metadata_props.add(key=key, value=value)
        onnx.save(proto, str(path))
        return path
