"""The model as a serialized `jax.export` artefact (models/final_model.jax): StableHLO that any
JAX of a compatible version runs without this project's model code.

The function it holds takes raw pixels (N x H x W, any N) and returns logits, like the ONNX graph.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..models import BaseModel


def export_model(model: BaseModel, path: Path, mean: float, std: float) -> Path:
    """Serialize ``model`` (eval mode, weights as constants) with a symbolic batch dimension."""
    model.eval()
    graphdef, state = nnx.split(model)
    state = jax.device_get(state)  # host copies: the artefact must not depend on the training mesh

    def raw_to_logits(images: jax.Array) -> jax.Array:
        return nnx.merge(graphdef, state)((images - mean) / std).astype(jnp.float32)

    size = model.config.image_size
    shape = jax.export.symbolic_shape(f"batch, {size}, {size}")
    exported = jax.export.export(jax.jit(raw_to_logits))(jax.ShapeDtypeStruct(shape, jnp.float32))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(exported.serialize())
    return path


def load_exported(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """Logits for raw images of shape N x H x W, from an artefact written by export_model()."""
    if not path.is_file():
        raise FileNotFoundError(f"exported model {path} not found: run `make train` first")
    exported = jax.export.deserialize(bytearray(path.read_bytes()))

    def predict(images: np.ndarray) -> np.ndarray:
        return np.asarray(exported.call(jnp.asarray(images, dtype=jnp.float32)))

    return predict
