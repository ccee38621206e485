"""metrics/results.json: one schema for every framework, so runs can be compared side by side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULT_KEYS = (
    "run_name",
    "framework",
    "model",
    "seed",
    "epochs_run",
    "best_epoch",
    "duration_s",
    "metrics",
    "config",
)
METRIC_KEYS = ("train_loss", "val_loss", "val_accuracy", "test_loss", "test_accuracy")


def write_results(path: Path, **results: Any) -> dict[str, Any]:
    """Write ``results`` (exactly RESULT_KEYS, ``metrics`` exactly METRIC_KEYS) as JSON."""
    if set(results) != set(RESULT_KEYS):
        raise ValueError(f"results need exactly {RESULT_KEYS}, got {sorted(results)}")
    if set(results["metrics"]) != set(METRIC_KEYS):
        raise ValueError(f"metrics need exactly {METRIC_KEYS}, got {sorted(results['metrics'])}")
    ordered = {key: results[key] for key in RESULT_KEYS}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(ordered, indent=2) + "\n", encoding="utf-8")
    return ordered


def read_results(path: Path) -> dict[str, Any]:
    """Read a results.json written by write_results."""
    return json.loads(path.read_text(encoding="utf-8"))
