"""Model architectures, one file each, built from configs/model/<name>.yaml."""

from __future__ import annotations

from typing import Any

from ..utils.config import ConfigError, from_dict, import_target
from . import cnn, transformer  # registers the classes, so .keras files load
from .base_model import BaseModel

__all__ = ["BaseModel", "build_model", "cnn", "transformer"]


def build_model(spec: dict[str, Any]) -> BaseModel:
    """Build the class ``spec["_target_"]`` names from the other keys (its config dataclass).

    The model is built (its weights created) on a batch of zeros, so it can be summarised,
    loaded into and saved at once. Under a tf.distribute strategy, call this inside its scope.
    """
    if "_target_" not in spec:
        raise ConfigError("config section model needs a _target_ (the model class)")
    cls = import_target(spec["_target_"])
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        raise ConfigError(f"model._target_ {spec['_target_']} is not a BaseModel subclass")
    params = {key: value for key, value in spec.items() if key not in ("_target_", "name")}
    try:
        config = from_dict(cls.config_class, params, "model")
    except ValueError as err:  # __post_init__ checks (ConfigError is a ValueError too)
        raise ConfigError(str(err)) from err
    return cls(config).build_for_images()
