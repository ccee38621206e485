"""Seeding, devices and the device mesh.

Reproducibility: JAX randomness is explicit. Every key derives from the configured seed: the
model's ``params`` and ``dropout`` streams (models.build_model), and per epoch the data order
(a NumPy generator seeded with (seed, epoch)) and the dropout stream (reseeded with
fold_in(key, epoch)). So a CPU run is repeatable bit for bit, resumed or not. Python's and NumPy's
global generators are seeded too, for any library that uses them. On GPU, XLA may pick
non-deterministic reductions (scatter-add, some convolutions): set
XLA_FLAGS=--xla_gpu_deterministic_ops=true when you need exact repeats there, at some speed cost.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

PLATFORMS = {"cpu": "cpu", "cuda": "gpu", "gpu": "gpu", "tpu": "tpu"}


def enable_compilation_cache() -> None:
    """Keep compiled XLA programs on disk, so later runs and tests skip most compiling.

    JAX compiles every jitted step (and each eager op) once per process; on CPU that is most of
    a short run's time. The cache lives in JAX_COMPILATION_CACHE_DIR when set, else in
    ~/.cache/jax; delete the folder at will.
    """
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return  # JAX reads the variable (and the JAX_PERSISTENT_CACHE_* ones) itself
    jax.config.update("jax_compilation_cache_dir", str(Path.home() / ".cache" / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def seed_everything(seed: int) -> jax.Array:
    """Seed Python's random and NumPy; return the root JAX key every other key derives from."""
    random.seed(seed)
    np.random.seed(seed)
    return jax.random.key(seed)


def resolve_devices(name: str, count: int | None = None) -> list[jax.Device]:
    """Devices of the platform ``name`` (auto: JAX's default, GPU when present); ``count`` first
    ones, or all of them when None. `make train-distributed` makes NPROC host devices with
    XLA_FLAGS=--xla_force_host_platform_device_count=NPROC."""
    if name == "auto":
        devices = jax.devices()
    else:
        platform = PLATFORMS.get(name.split(":")[0])
        if platform is None:
            raise ValueError(f"trainer.device={name!r}: use auto, cpu, cuda or tpu")
        devices = jax.devices(platform)
    if count is not None:
        if count > len(devices):
            raise ValueError(
                f"trainer.devices={count} but only {len(devices)} {devices[0].platform} device(s): "
                "on CPU set XLA_FLAGS=--xla_force_host_platform_device_count=N"
            )
        devices = devices[:count]
    return devices


def make_mesh(devices: list[jax.Device]) -> tuple[NamedSharding, NamedSharding]:
    """A 1-D mesh over ``devices``: (data sharding: batch axis split, replicated sharding)."""
    mesh = Mesh(np.array(devices), ("data",))
    return NamedSharding(mesh, PartitionSpec("data")), NamedSharding(mesh, PartitionSpec())
