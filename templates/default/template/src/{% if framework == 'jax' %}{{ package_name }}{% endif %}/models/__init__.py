"""Model architectures, one file each, built from configs/model/<name>.yaml."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import nnx

from ..utils.config import ConfigError, from_dict, import_target
from .base_model import BaseModel

__all__ = ["BaseModel", "build_model"]


def build_model(spec: dict[str, Any], *, seed: int = 0, dtype: Any = jnp.float32) -> BaseModel:
    """Build the class ``spec["_target_"]`` names from the other keys (its config dataclass).

    ``seed`` starts the model's PRNG streams: ``params`` (initial weights) and ``dropout``.
    """
    if "_target_" not in spec:
        raise ConfigError("config section model needs a _target_ (the model class)")
    cls = import_target(spec["_target_"])
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        raise ConfigError(f"model._target_ {spec['_target_']} is not a BaseModel subclass")
    params = {key: value for key, value in spec.items() if key not in ("_target_", "name")}
    config = from_dict(cls.config_class, params, "model")
    return cls(config, rngs=nnx.Rngs(params=seed, dropout=seed + 1), dtype=dtype)
