"""Seeding, devices and the processes torchrun starts.

Reproducibility: `L.seed_everything` fixes Python, NumPy and torch (and the DataLoader workers), the
Trainer runs with `deterministic=True`, and the EpochSeed callback reseeds every epoch, so a CPU run
is repeatable bit for bit, resumed or not. On a GPU a few kernels (atomic adds in scatter/index ops)
stay non-deterministic even so, and bf16 autocast rounds differently from fp32: expect results to
agree closely, not exactly, there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands among the torchrun processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    local_world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def num_nodes(self) -> int:
        return self.world_size // self.local_world_size


def dist_info() -> DistInfo:
    """Read RANK, LOCAL_RANK, WORLD_SIZE and LOCAL_WORLD_SIZE, as torchrun sets them."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return DistInfo()
    return DistInfo(
        rank=int(os.environ["RANK"]),
        local_rank=int(os.environ["LOCAL_RANK"]),
        world_size=world_size,
        local_world_size=int(os.environ.get("LOCAL_WORLD_SIZE", world_size)),
    )


def resolve_backend(backend: str, accelerator: str) -> str:
    """`auto`: nccl between GPUs, gloo between CPU processes."""
    if backend != "auto":
        return backend
    return "nccl" if accelerator == "gpu" else "gloo"


def resolve_accelerator(device: str) -> str:
    """trainer.device (auto | cpu | cuda) as a Lightning accelerator name."""
    if device == "auto":
        return "gpu" if torch.cuda.is_available() else "cpu"
    return "gpu" if device.startswith("cuda") else device


def init_distributed(info: DistInfo, backend: str) -> None:
    """Join torchrun's process group early, so rank 0 can share the run folder before training.

    Lightning's DDP strategy finds the group already initialised and uses it.
    """
    if info.enabled and not dist.is_initialized():
        dist.init_process_group(backend=backend)


def broadcast_object(obj: Any, info: DistInfo) -> Any:
    """Rank 0's ``obj`` on every rank (the run folder, the checkpoint to resume)."""
    if not info.enabled:
        return obj
    payload = [obj]
    dist.broadcast_object_list(payload, src=0)
    return payload[0]


def cleanup_distributed() -> None:
    """Leave the process group."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
