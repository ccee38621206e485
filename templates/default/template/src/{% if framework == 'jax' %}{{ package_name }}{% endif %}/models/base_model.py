"""The interface every architecture shares: raw-shaped images (N x H x W) in, class logits out."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from flax import nnx


class BaseModel(nnx.Module):
    """Base class of the models (Flax NNX): a config dataclass, a forward pass and ONNX export.

    Subclasses build their layers in ``__init__(config, *, rngs, dtype)``: ``rngs`` holds the
    ``params`` and ``dropout`` streams; ``dtype`` is the compute dtype (bfloat16 for mixed
    precision on GPU), while parameters always stay float32.
    """

    config_class: ClassVar[type]

    def __init__(self, config: Any) -> None:
        self.config = config

    def __call__(self, images: jax.Array) -> jax.Array:  # pragma: no cover - abstract
        """Logits of shape N x num_classes for normalised images of shape N x H x W."""
        raise NotImplementedError

    def num_parameters(self) -> int:
        """Trainable parameters."""
        return sum(leaf.size for leaf in jax.tree.leaves(nnx.state(self, nnx.Param)))

    def export_onnx(
        self, path: Path, mean: float, std: float, metadata: dict[str, str] | None = None
    ) -> Path:
        """Write an ONNX graph (jax2onnx) that takes raw pixels: normalisation is built in.

        Input ``images`` (N x H x W, N dynamic), output ``logits``; ``metadata`` lands in the
        model's metadata_props. The model is switched to eval mode (no dropout, running stats).
        """
        import onnx  # only needed here

        from ..utils.onnx_export import to_onnx

        self.eval()
        size = self.config.image_size

        def raw_to_logits(images: jax.Array) -> jax.Array:
            return self((images - mean) / std).astype(jnp.float32)

        model = to_onnx(raw_to_logits, (size, size), name=type(self).__name__)
        for key, value in (metadata or {}).items():
            model.metadata_props.add(key=key, value=value)
        path.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(model, str(path))
        return path
