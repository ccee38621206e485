"""Seeding, devices and the tf.distribute strategy.

Reproducibility: seed_everything() calls keras.utils.set_random_seed (Python, NumPy and TensorFlow)
and turns on TensorFlow's op determinism, so a CPU run repeats bit for bit, resumed or not. On a
GPU, op determinism also picks deterministic kernels (slower) and raises for ops that have none;
cuDNN autotuning and XLA auto-clustering can still change results across machines and versions.
"""

from __future__ import annotations

import json
import logging
import os

import keras
import tensorflow as tf

log = logging.getLogger(__name__)


def route_tensorflow_logs() -> None:
    """Send TensorFlow's Python log records through the one logging setup (no second handler)."""
    tf_logger = logging.getLogger("tensorflow")
    for handler in list(tf_logger.handlers):
        tf_logger.removeHandler(handler)
    tf_logger.propagate = True


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed Python's random, NumPy and TensorFlow; make TensorFlow's ops deterministic."""
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def configure_devices(device: str, replicas: int = 1) -> list[str]:
    """Make the devices of this process visible and return the ones training uses.

    ``device``: auto (the GPUs when there are any, else the CPU), cpu, or gpu. With ``replicas``
    above the number of GPUs on a CPU run, the CPU is split into that many logical devices, so
    MirroredStrategy runs data-parallel on one machine without accelerators. Call this before
    TensorFlow runs any op (devices cannot be reconfigured after that).
    """
    gpus = tf.config.list_physical_devices("GPU")
    if device not in ("auto", "cpu", "gpu"):
        raise ValueError(f"trainer.device={device!r}: use auto, cpu or gpu")
    if device == "cpu" or (device == "auto" and not gpus):
        try:
            if gpus:
                tf.config.set_visible_devices([], "GPU")
            if replicas > 1:
                (cpu,) = tf.config.list_physical_devices("CPU")
                tf.config.set_logical_device_configuration(
                    cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(replicas)]
                )
        except RuntimeError:  # TensorFlow already started: keep the devices it has
            pass
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        if len(cpus) < replicas:
            raise ValueError(
                f"trainer.devices={replicas}, but TensorFlow started with {len(cpus)} CPU "
                "device(s): set the devices before TensorFlow runs anything"
            )
        return cpus[:replicas]
    if not gpus:
        raise ValueError("trainer.device=gpu but TensorFlow sees no GPU")
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)
    return [d.name for d in tf.config.list_logical_devices("GPU")][:replicas]


def make_strategy(devices: list[str], backend: str = "auto") -> tf.distribute.Strategy:
    """The tf.distribute strategy for this run.

    TF_CONFIG set (several machines): MultiWorkerMirroredStrategy; each machine runs the same
    command with its own TF_CONFIG = {"cluster": {"worker": ["host1:port", "host2:port"]},
    "task": {"type": "worker", "index": i}}, and worker 0 (the chief) writes the outputs.
    Several local devices: MirroredStrategy (one process, one replica per device, gradients
    all-reduced). One device: the default strategy, which changes nothing.
    """
    if os.environ.get("TF_CONFIG"):
        cluster = json.loads(os.environ["TF_CONFIG"])["cluster"]
        log.info("multi-worker training over %s", cluster.get("worker"))
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(devices) > 1:
        ops = {
            "auto": None,
            "nccl": tf.distribute.NcclAllReduce(),
            "hierarchical_copy": tf.distribute.HierarchicalCopyAllReduce(),
            "reduction_to_one_device": tf.distribute.ReductionToOneDevice(),
        }
        if backend not in ops:
            raise ValueError(f"trainer.distributed_backend={backend!r}: use one of {sorted(ops)}")
        return tf.distribute.MirroredStrategy(devices, cross_device_ops=ops[backend])
    return tf.distribute.get_strategy()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True in the process that writes outputs (always, except on non-chief workers)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type in (None, "chief") or (
        resolver.task_type == "worker" and resolver.task_id == 0
    )
