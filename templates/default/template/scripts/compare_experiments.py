"""Gather every run's ``metrics/results.json`` into one comparison table and one plot.

Usage::

    python scripts/compare_experiments.py  # outputs/experiments -> outputs/comparison
    python scripts/compare_experiments.py --sort-by val_loss --ascending

Writes ``comparison.md`` (Markdown table), ``comparison.csv`` and ``comparison.png`` (test and
validation accuracy per run) into the output folder, and prints the Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display needed on servers and in CI
import matplotlib.pyplot as plt

logger = logging.getLogger("compare_experiments")

RUN_COLUMNS = ("run_name", "framework", "model", "seed", "epochs_run", "best_epoch", "duration_s")
METRIC_COLUMNS = ("train_loss", "val_loss", "val_accuracy", "test_loss", "test_accuracy")
COLUMNS = RUN_COLUMNS + METRIC_COLUMNS


def load_results(runs_dir: Path) -> list[dict[str, Any]]:
    """Read ``<runs_dir>/*/metrics/results.json`` into flat rows (one per run)."""
    rows: list[dict[str, Any]] = []
    for path in sorted(runs_dir.glob("*/metrics/results.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            logger.warning("Skipping %s: %s", path, err)
            continue
        row = {column: result.get(column) for column in RUN_COLUMNS}
        row["run_name"] = row["run_name"] or path.parent.parent.name
        metrics = result.get("metrics") or {}
        row.update({column: metrics.get(column) for column in METRIC_COLUMNS})
        row["run_dir"] = path.parent.parent.name
        rows.append(row)
    return rows


def sort_rows(rows: list[dict[str, Any]], key: str, ascending: bool) -> list[dict[str, Any]]:
    """Sort rows by ``key``; runs without that value go last."""
    present = [row for row in rows if row.get(key) is not None]
    missing = [row for row in rows if row.get(key) is None]
    return sorted(present, key=lambda row: row[key], reverse=not ascending) + missing


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}" if column == "duration_s" else f"{value:.4f}"
    return str(value)


def to_markdown(rows: list[dict[str, Any]]) -> str:
    """Render rows as a GitHub-flavoured Markdown table."""
    header = "| " + " | ".join(COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in COLUMNS) + "|"
    body = ["| " + " | ".join(_cell(c, row.get(c)) for c in COLUMNS) + " |" for row in rows]
    return "\n".join([header, rule, *body]) + "\n"


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """Write rows (all columns plus the run folder name) as CSV."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*COLUMNS, "run_dir"])
        writer.writeheader()
        writer.writerows(rows)


def plot_accuracy(rows: list[dict[str, Any]], path: Path) -> None:
    """Save a grouped bar chart of validation and test accuracy per run."""
    names = [str(row["run_name"]) for row in rows]
    positions = range(len(rows))
    width = 0.4
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(rows)), 4.5))
    for offset, column in ((-width / 2, "val_accuracy"), (width / 2, "test_accuracy")):
        values = [row.get(column) or 0.0 for row in rows]
        ax.bar([p + offset for p in positions], values, width, label=column)
    ax.set_xticks(list(positions), names, rotation=30, ha="right")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0.0, 1.0)
    ax.set_title("Experiment comparison")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", type=Path, default=Path("outputs/experiments"))
    parser.add_argument("--out", type=Path, default=Path("outputs/comparison"))
    parser.add_argument("--sort-by", default="test_accuracy", choices=COLUMNS)
    parser.add_argument("--ascending", action="store_true", help="smallest value first")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build the table, CSV and plot; return a process exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    args = parse_args(argv)
    rows = load_results(args.runs_dir)
    if not rows:
        logger.error("No results found under %s/*/metrics/results.json", args.runs_dir)
        return 1
    rows = sort_rows(rows, args.sort_by, args.ascending)
    args.out.mkdir(parents=True, exist_ok=True)
    table = to_markdown(rows)
    (args.out / "comparison.md").write_text(table, encoding="utf-8")
    write_csv(rows, args.out / "comparison.csv")
    plot_accuracy(rows, args.out / "comparison.png")
    sys.stdout.write(table)
    logger.info("Compared %d runs; wrote %s", len(rows), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
