"""The benchmark script stays runnable: its report maths and tables, never its timings."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_ratio_of_medians_and_markdown_report() -> None:
    bench = _bench()
    timings = {
        "fast": bench.Timing("help", "fast", (1.0, 2.0, 30.0)),
        "slow": bench.Timing("help", "slow", (4.0, 4.0, 4.0)),
    }
    result = bench.ratio(timings, "fast", "slow", 0.6)
    assert result.value == 0.5 and result.met
    report = bench.Report(machine=bench.machine(), timings=list(timings.values()))
    report.ratios.append(result)
    table = bench.markdown(report)
    assert "| help | `fast` / `slow` | 0.50x | <= 0.60x | yes |" in table
    assert f"{report.machine['cpu_count']} CPUs" in table


def test_help_lists_every_case() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--help"], capture_output=True, text=True, check=True
    )
    for case in ("help", "new", "update", "sweep", "train"):
        assert case in proc.stdout
