"""Run folders: outputs/experiments/<YYYY-MM-DD_HH-MM-SS>_<name>/, a sub-folder per kind of output.

logs/training.log   metrics/results.json   plots/*.png   checkpoints/{last,best_model}.<suffix>
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .config import ConfigError


@dataclass(frozen=True)
class RunPaths:
    """The files and folders of one run."""

    root: Path
    checkpoint_suffix: str = ".pth"

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def log_file(self) -> Path:
        return self.root / "logs" / "training.log"

    @property
    def results_file(self) -> Path:
        return self.root / "metrics" / "results.json"

    @property
    def plots_dir(self) -> Path:
        return self.root / "plots"

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints_dir / f"last{self.checkpoint_suffix}"

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoints_dir / f"best_model{self.checkpoint_suffix}"

    def create(self) -> RunPaths:
        for folder in ("logs", "metrics", "plots", "checkpoints"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        return self


def is_used(folder: Path) -> bool:
    """A folder holds a run once it has a log, a checkpoint or results."""
    return any((folder / sub).exists() for sub in ("logs", "checkpoints", "metrics"))


def new_run_dir(experiments_dir: Path, name: str, preferred: Path | None = None) -> Path:
    """Pick the folder of a new run: ``preferred`` (Hydra's run dir) unless another run uses it,
    else ``<experiments_dir>/<timestamp>_<name>``, with ``_1``, ``_2``... when that exists."""
    if preferred is not None and not is_used(preferred):
        preferred.mkdir(parents=True, exist_ok=True)
        return preferred
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    base = experiments_dir / f"{stamp}_{name}"
    candidate, number = base, 0
    while True:
        try:
            candidate.mkdir(parents=True, exist_ok=False)
            return candidate
        except FileExistsError:
            number += 1
            candidate = base.with_name(f"{base.name}_{number}")


def find_checkpoint(resume: str, experiments_dir: Path, suffix: str = ".pth") -> Path:
    """Resolve ``resume``: ``latest`` (newest run with a checkpoint), a run folder or a file."""
    if resume == "latest":
        candidates = sorted(
            experiments_dir.glob(f"*/checkpoints/last{suffix}"), key=lambda p: p.stat().st_mtime
        )
        if not candidates:
            raise ConfigError(f"resume=latest: no run in {experiments_dir} has a checkpoint")
        return candidates[-1]
    path = Path(resume)
    if path.is_dir():
        path = RunPaths(path, suffix).last_checkpoint
    if not path.is_file():
        raise ConfigError(f"resume={resume}: checkpoint {path} not found")
    return path


def run_dir_of(checkpoint: Path) -> Path | None:
    """The run folder a checkpoint belongs to (<run>/checkpoints/<file>), if it is in one."""
    folder = checkpoint.resolve().parent
    return folder.parent if folder.name == "checkpoints" else None


def run_folder(cfg: dict[str, Any], hydra_run_dir: Path | None, checkpoint: Path | None) -> Path:
    """The folder of the run a checkpoint belongs to, or a new one (named after the run)."""
    folder = run_dir_of(checkpoint) if checkpoint is not None else None
    if folder is None:  # nothing to resume, or a checkpoint outside any run folder
        name = cfg.get("name") or cfg["model"]["name"]
        folder = new_run_dir(Path(cfg["paths"]["experiments_dir"]), name, hydra_run_dir)
    return folder


def discard_if_unused(folder: Path | None, keep: Path | None) -> None:
    """Remove a folder that Hydra created for this process but the run does not use."""
    if folder is None or not folder.exists():
        return
    if keep is not None and folder.resolve() == keep.resolve():
        return
    if {child.name for child in folder.iterdir()} <= {".hydra"}:
        shutil.rmtree(folder)
