"""Configuration helpers shared by every framework: YAML files, dataclass sections, `_target_`.

The entry point (main.py) composes the configuration into a plain nested dict; the code below turns
its sections into typed dataclasses, so a misspelt key fails early with its name in the message.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """The configuration names a key, value or file that does not exist."""


def load_yaml(path: Path) -> dict[str, Any]:
    """Read one YAML mapping, with a message that names the file when it is missing or invalid."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"config file not found: {path}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping, not {type(data).__name__}")
    return data


def from_dict(cls: type, data: dict[str, Any], section: str) -> Any:
    """Build the dataclass ``cls`` from ``data``; nested dataclass fields are built recursively.

    An unknown key raises ConfigError naming it (``trainer.epochz``) and the keys that exist.
    """
    fields = {field.name: field for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown config key {section}.{unknown[0]}; {section} has: {', '.join(sorted(fields))}"
        )
    values = {}
    for name, value in data.items():
        field_type = fields[name].type
        nested = _dataclass_named(cls, field_type)
        values[name] = from_dict(nested, value, f"{section}.{name}") if nested else value
    try:
        return cls(**values)
    except TypeError as err:  # a required key is missing
        raise ConfigError(f"config section {section}: {err}") from err


def _dataclass_named(owner: type, annotation: object) -> type | None:
    """Return the dataclass a field annotation names (annotations are strings), if any."""
    if isinstance(annotation, str):
        module = importlib.import_module(owner.__module__)
        annotation = getattr(module, annotation, None)
    return annotation if dataclasses.is_dataclass(annotation) else None  # type: ignore[return-value]


def import_target(target: str) -> Any:
    """Import ``package.module.Name`` as a config's ``_target_`` names it."""
    module_name, _, attr = target.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as err:
        raise ConfigError(f"_target_ {target!r} cannot be imported: {err}") from err


# Sections of configs/trainer/*.yaml that every framework reads the same way; each framework's
# TrainerConfig (engine/trainer.py) nests them. Every field is documented in the YAML file.
@dataclass
class OptimizerConfig:
    name: str = "adamw"
    lr: float = 3e-3
    weight_decay: float = 1e-4


@dataclass
class SchedulerConfig:
    name: str = "cosine"
    warmup_epochs: int = 1
    min_lr: float = 1e-5


@dataclass
class LossConfig:
    name: str = "cross_entropy"
    label_smoothing: float = 0.0


@dataclass
class EarlyStoppingConfig:
    monitor: str = "val_loss"
    patience: int = 5
    min_delta: float = 0.0
