"""The one place that configures Python logging: console plus the run's logs/training.log."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def setup_logging(log_file: Path | None = None, *, rank: int = 0, level: str = "INFO") -> None:
    """Send log records to the console and, when given, to ``log_file`` (appended to).

    Under DDP only rank 0 logs at ``level``; the other ranks report warnings and errors only.
    Handlers installed before (by Hydra or an earlier call) are replaced.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level if rank == 0 else "WARNING")
    formatter = logging.Formatter(FORMAT, DATE_FORMAT)
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(formatter)
    root.addHandler(console)
    if log_file is not None and rank == 0:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(formatter)
        root.addHandler(file_handler)
    # Third-party chatter stays out of the run log.
    for noisy in ("matplotlib", "PIL", "urllib3", "git"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
