"""JAX -> ONNX with jax2onnx, for the framework-neutral predictor (engine/predictor.py).

jax2onnx discovers its converters by importing every plugin module it ships, including example
models that compile dozens of XLA programs on import (about 20 s on a laptop CPU). Only the jax
and flax converters are needed here, so those alone are loaded; should jax2onnx's internals move,
the full discovery runs instead (slower, same result).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import jax
import onnx

log = logging.getLogger(__name__)

OPSET = 17  # what onnxruntime and the PyTorch export use; raise it with both


def _load_converters() -> None:
    try:
        from jax2onnx.plugins import plugin_system
    except ImportError:  # pragma: no cover - layout of another jax2onnx version
        return
    if getattr(plugin_system, "_already_imported_plugins", True):
        return
    root = Path(plugin_system.__file__).parent
    try:
        for family in ("jax", "flax"):
            plugin_system._import_tree(root / family, f"jax2onnx.plugins.{family}")
        plugin_system._already_imported_plugins = True
    except AttributeError:  # pragma: no cover - fall back to the full discovery
        log.debug("jax2onnx internals changed: loading every plugin")


def to_onnx(
    fn: Callable[[jax.Array], jax.Array], image_shape: tuple[int, ...], name: str
) -> onnx.ModelProto:
    """Trace ``fn`` (images -> logits) for a dynamic batch and return the ONNX model."""
    from jax2onnx import to_onnx as convert

    _load_converters()
    logging.getLogger("onnx_ir").setLevel(logging.ERROR)  # harmless shape-inference chatter
    logging.disable(logging.INFO)  # jax2onnx reports each conversion on the root logger
    try:
        return convert(
            fn,
            [("batch", *image_shape)],
            model_name=name,
            opset=OPSET,
            input_names=["images"],
            output_names=["logits"],
        )
    finally:
        logging.disable(logging.NOTSET)
