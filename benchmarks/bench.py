"""Benchmark dlproj against the tools it builds on, on this machine, in one run.

Every comparison is a ratio to a baseline measured in the same run: each command of a case is
warmed up once, then the commands run interleaved ``--repeat`` times (5 by default) and the
median is reported. Machines are shared and noisy, so tests never assert timings; this script
is where they are looked at (see benchmarks/README.md for the figures and how to read them).

Cases:
    help    ``dlproj --help`` / ``--version`` vs ``copier --help`` (and cookiecutter, ccds)
    new     ``dlproj new X --defaults --no-git`` vs ``copier copy --defaults`` of the same bundle
    update  no-op ``dlproj update`` vs ``dlproj new``; a real update vs ``copier update``
    sweep   every variant of ``dlproj variants --json`` rendered with copier, in parallel
    train   the generated PyTorch project's ``make train`` (skipped when torch is missing)

Usage:
    python benchmarks/bench.py
    python benchmarks/bench.py --only help --repeat 9 --json benchmarks/results/help.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DIR = REPO_ROOT / "templates" / "default"
PROJECT = "bench-project"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "dlproj bench",
    "GIT_AUTHOR_EMAIL": "bench@dlproj.invalid",
    "GIT_COMMITTER_NAME": "dlproj bench",
    "GIT_COMMITTER_EMAIL": "bench@dlproj.invalid",
}

Timed = Callable[[], float]
"""One repetition of a command: does its own untimed set-up, returns the timed seconds."""


class BenchError(RuntimeError):
    """A benchmarked command failed; the case is reported as an error."""


@dataclass(frozen=True, slots=True)
class Timing:
    """All samples of one command; the median is the figure."""

    case: str
    name: str
    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        """Median seconds."""
        return statistics.median(self.samples)


@dataclass(frozen=True, slots=True)
class Ratio:
    """``subject`` median over ``baseline`` median, with the target it should not exceed."""

    case: str
    subject: str
    baseline: str
    value: float
    target: float

    @property
    def met(self) -> bool:
        """True when the ratio is within its target."""
        return self.value <= self.target


@dataclass(frozen=True, slots=True)
class Figure:
    """A figure that is not a ratio: variants per second, samples per second."""

    case: str
    name: str
    value: float
    unit: str


@dataclass
class Report:
    """Everything one run measured, printed as tables and written as JSON."""

    machine: dict[str, Any]
    timings: list[Timing] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain data, medians and targets included."""
        return {
            "machine": self.machine,
            "timings": [{**asdict(t), "median": t.median} for t in self.timings],
            "ratios": [{**asdict(r), "met": r.met} for r in self.ratios],
            "figures": [asdict(f) for f in self.figures],
            "notes": self.notes,
            "errors": self.errors,
        }


def tool(name: str) -> str | None:
    """The executable ``name``: beside this interpreter first (skips pyenv shims), then PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def machine() -> dict[str, Any]:
    """Where the figures come from: platform, CPU, Python and tool versions."""
    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        models = [ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        cpu = models[0].split(":", 1)[1].strip() if models else cpu
    versions: dict[str, str | None] = {}
    for dist in ("dlproj", "copier", "typer"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = None
    return {
        "platform": platform.platform(),
        "cpu": cpu or platform.machine(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "versions": versions,
    }


class Bench:
    """Runs commands in a scratch folder with a private DLPROJ_HOME and times them."""

    def __init__(self, root: Path, repeat: int, jobs: int, dlproj: str | None = None) -> None:
        self.root = root
        self.repeat = repeat
        self.jobs = jobs
        self.env = {
            **os.environ,
            **GIT_IDENTITY,
            "DLPROJ_HOME": str(root / "dlproj-home"),
            "NO_COLOR": "1",
        }
        self.dlproj = dlproj or self.require("dlproj")
        self.copier = self.require("copier")

    @staticmethod
    def require(name: str) -> str:
        """The executable ``name``, or a BenchError saying to install it."""
        found = tool(name)
        if found is None:
            raise BenchError(f"{name} is not installed: pip install -e . from the repository.")
        return found

    def fresh(self, prefix: str) -> Path:
        """A new empty folder under the scratch root."""
        return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=self.root))

    def run(
        self, argv: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> float:
        """Run ``argv`` (with ``env`` added to the environment) and return its wall seconds.

        Raises:
            BenchError: the command exited non-zero.
        """
        start = time.perf_counter()
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise BenchError(f"{shlex.join(argv)} exited {proc.returncode}: {proc.stderr[-800:]}")
        return elapsed

    def output(self, argv: Sequence[str], cwd: Path | None = None) -> str:
        """Run ``argv`` untimed and return its stdout."""
        proc = subprocess.run(
            list(argv), cwd=cwd, env=self.env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise BenchError(f"{shlex.join(argv)} exited {proc.returncode}: {proc.stderr[-800:]}")
        return proc.stdout

    def measure(self, case: str, commands: dict[str, Timed]) -> dict[str, Timing]:
        """Warm each command up once, then run them interleaved ``repeat`` times."""
        for timed in commands.values():
            timed()
        samples: dict[str, list[float]] = {name: [] for name in commands}
        names = list(commands)
        for rep in range(self.repeat):
            shift = rep % len(names)  # rotate the order so no command always runs first
            for name in names[shift:] + names[:shift]:
                samples[name].append(commands[name]())
        return {name: Timing(case, name, tuple(s)) for name, s in samples.items()}

    def new_project(self, parent: Path, *extra: str) -> Path:
        """``dlproj new PROJECT --defaults EXTRA...`` into ``parent``, untimed."""
        self.run([self.dlproj, "new", PROJECT, "--defaults", "-o", str(parent), *extra])
        return parent / PROJECT

    def clone(self, project: Path) -> Path:
        """A fresh clone of a committed project, untimed."""
        dst = self.fresh("clone") / project.name
        self.output(["git", "clone", "--quiet", str(project), str(dst)])
        return dst


def ratio(timings: dict[str, Timing], subject: str, baseline: str, target: float) -> Ratio:
    """The ratio of two medians measured in the same case."""
    case = timings[subject].case
    value = timings[subject].median / timings[baseline].median
    return Ratio(case, subject, baseline, value, target)


def case_help(bench: Bench, report: Report) -> None:
    """``dlproj --help`` and ``--version`` vs the help of copier, cookiecutter and ccds."""
    commands = {
        "dlproj --help": [bench.dlproj, "--help"],
        "dlproj --version": [bench.dlproj, "--version"],
        "copier --help": [bench.copier, "--help"],
    }
    for name in ("cookiecutter", "ccds"):
        found = tool(name)
        if found:
            commands[f"{name} --help"] = [found, "--help"]
            report.machine.setdefault("tools", {})[name] = found
        else:
            report.notes.append(
                f"{name} is not installed: its --help baseline was skipped "
                "(pip install cookiecutter cookiecutter-data-science)."
            )
    timings = bench.measure("help", {n: _command(bench, argv) for n, argv in commands.items()})
    report.timings.extend(timings.values())
    report.ratios.append(ratio(timings, "dlproj --help", "copier --help", 0.6))
    report.ratios.append(ratio(timings, "dlproj --version", "copier --help", 0.6))
    for name in ("cookiecutter --help", "ccds --help"):
        if name in timings:
            report.ratios.append(ratio(timings, "dlproj --help", name, 1.0))


def _command(bench: Bench, argv: Sequence[str]) -> Timed:
    return lambda: bench.run(argv)


def _dlproj_new(bench: Bench) -> Timed:
    def timed() -> float:
        parent = bench.fresh("new")
        return bench.run(
            [bench.dlproj, "new", PROJECT, "--defaults", "--no-git", "-o", str(parent)]
        )

    return timed


def bundle_head(bundle: Path) -> str:
    """The commit a git bundle's HEAD points at."""
    for line in subprocess.run(
        ["git", "bundle", "list-heads", str(bundle)], capture_output=True, text=True, check=True
    ).stdout.splitlines():
        sha, _, ref = line.partition(" ")
        if ref == "HEAD":
            return sha
    raise BenchError(f"{bundle} has no HEAD")


def case_new(bench: Bench, report: Report) -> None:
    """``dlproj new`` vs ``copier copy`` of the bundle dlproj installed, at the same commit.

    The bundle's HEAD is read again before each copy: in a source checkout every ``dlproj new``
    rebuilds the bundle, so an edit to the template during the run moves it.
    """
    probe = bench.new_project(bench.fresh("probe"), "--no-git")
    answers = yaml.safe_load((probe / ".copier-answers.yml").read_text(encoding="utf-8"))
    src = Path(answers["_src_path"]).expanduser()

    def copier_copy() -> float:
        dst = bench.fresh("copy") / PROJECT
        ref = bundle_head(src)
        argv = [bench.copier, "copy", "--defaults", "--trust", "--quiet", "--vcs-ref", ref]
        return bench.run([*argv, "--data", f"project_name={PROJECT}", str(src), str(dst)])

    commands = {"dlproj new --defaults --no-git": _dlproj_new(bench)}
    timings = bench.measure("new", {**commands, "copier copy --defaults": copier_copy})
    report.timings.extend(timings.values())
    report.ratios.append(
        ratio(timings, "dlproj new --defaults --no-git", "copier copy --defaults", 1.1)
    )


CHANGE_FILE = "BENCH_CHANGES.md"


def template_history(bench: Bench) -> Path:
    """A git copy of the bundled template tagged v1, then v2 with one new and one edited file."""
    repo = bench.root / "template-repo"
    shutil.copytree(TEMPLATE_DIR, repo, ignore=shutil.ignore_patterns("__pycache__", "*.py[co]"))
    git = ["git", "-C", str(repo)]
    bench.output([*git, "init", "--quiet", "--initial-branch=main"])
    bench.output([*git, "add", "--all", "--force", "."])
    bench.output([*git, "commit", "--quiet", "--no-verify", "-m", "v1"])
    bench.output([*git, "tag", "v1"])
    (repo / "template" / CHANGE_FILE).write_text("# Changes\n\n- v2: a template change.\n")
    gitignore = repo / "template" / ".gitignore"
    if gitignore.is_file():
        gitignore.write_text(gitignore.read_text() + "\n# added by v2\n*.bench\n")
    bench.output([*git, "add", "--all", "--force", "."])
    bench.output([*git, "commit", "--quiet", "--no-verify", "-m", "v2"])
    bench.output([*git, "tag", "v2"])
    return repo


def case_update(bench: Bench, report: Report) -> None:
    """No-op ``dlproj update`` vs ``dlproj new``; a real v1 -> v2 update vs ``copier update``."""
    repo = template_history(bench)
    old = bench.new_project(
        bench.fresh("v1"), "--template", str(repo), "--vcs-ref", "v1", "--trust"
    )

    def updated(clone: Path) -> None:
        if not (clone / CHANGE_FILE).is_file():
            raise BenchError(f"the update did not bring {CHANGE_FILE} into {clone}")

    def noop_update() -> float:
        # A new project each time: in a source checkout, a template edit moves the bundle.
        project = bench.new_project(bench.fresh("noop"))
        return bench.run([bench.dlproj, "update", str(project)])

    def dlproj_update() -> float:
        clone = bench.clone(old)
        elapsed = bench.run([bench.dlproj, "update", str(clone), "--trust"])
        updated(clone)
        return elapsed

    def copier_update() -> float:
        clone = bench.clone(old)
        argv = [bench.copier, "update", "--defaults", "--trust", "--quiet", "--vcs-ref", "v2"]
        elapsed = bench.run(argv, cwd=clone)
        updated(clone)
        return elapsed

    timings = bench.measure(
        "update",
        {
            "dlproj update (no-op)": noop_update,
            "dlproj new --defaults --no-git": _dlproj_new(bench),
            "dlproj update (v1 -> v2)": dlproj_update,
            "copier update (v1 -> v2)": copier_update,
        },
    )
    report.timings.extend(timings.values())
    report.ratios.append(
        ratio(timings, "dlproj update (no-op)", "dlproj new --defaults --no-git", 1.5)
    )
    report.ratios.append(
        ratio(timings, "dlproj update (v1 -> v2)", "copier update (v1 -> v2)", 1.1)
    )


def render_variant(job: tuple[str, dict[str, Any]]) -> str | None:
    """Render one variant of the working-tree template; the error text, or None when it worked."""
    import copier

    dst, answers = job
    try:
        copier.run_copy(
            str(TEMPLATE_DIR),
            dst,
            data={"project_name": PROJECT, **answers},
            defaults=True,
            quiet=True,
            unsafe=True,
        )
    except Exception as err:  # a broken variant is a result to report, not a crash
        return f"{type(err).__name__}: {str(err)[:300]}"
    return None


def case_sweep(bench: Bench, report: Report) -> None:
    """Render every variant from ``dlproj variants --json`` with a pool of ``--jobs`` processes."""
    variants = json.loads(bench.output([bench.dlproj, "variants", "--json"]))
    failures: list[str] = []

    def sweep() -> float:
        out = bench.fresh("sweep")
        jobs = [(str(out / f"v{i:03d}"), v["answers"]) for i, v in enumerate(variants)]
        start = time.perf_counter()
        with ProcessPoolExecutor(max_workers=bench.jobs) as pool:
            errors = list(pool.map(render_variant, jobs))
        elapsed = time.perf_counter() - start
        shutil.rmtree(out, ignore_errors=True)
        failures[:] = [f"{v['id']}: {e}" for v, e in zip(variants, errors, strict=True) if e]
        return elapsed

    name = f"render {len(variants)} variants ({bench.jobs} processes)"
    timings = bench.measure("sweep", {name: sweep})
    report.timings.extend(timings.values())
    seconds = timings[name].median
    report.figures.append(Figure("sweep", "variants rendered", len(variants), "variants"))
    report.figures.append(Figure("sweep", "whole sweep", seconds, "s"))
    report.figures.append(Figure("sweep", "render rate", len(variants) / seconds, "variants/s"))
    if failures:
        report.notes.append(f"sweep: {len(failures)} variant(s) failed, e.g. {failures[0]}")


SAMPLES_PER_S = re.compile(r"\(([\d.]+) samples/s\)")


def _numbers(data: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """The numeric leaves of results.json as dotted keys (its ``config`` copy left out)."""
    found: dict[str, float] = {}
    for key, value in data.items():
        if isinstance(value, dict) and key != "config":
            found |= _numbers(value, f"{prefix}{key}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            found[f"{prefix}{key}"] = float(value)
    return found


def case_train(bench: Bench, report: Report, train_cmd: str, python: str) -> None:
    """Hook: time ``train_cmd`` (``make train``) in the rendered default (PyTorch) project, CPU.

    The project is not installed: the Makefile's ``$(PYTHON)`` is pointed at ``python``
    (``--train-python``, by default this interpreter) with the project's ``src/`` on
    PYTHONPATH, so torch and the project's other dependencies must be installed there.
    ``make data`` runs once first, untimed. The figures come from the
    newest run folder: numbers from ``metrics/results.json`` and the median samples/s that
    ``logs/training.log`` reports per epoch.
    """
    probe = subprocess.run([python, "-c", "import torch"], capture_output=True, check=False)
    if probe.returncode != 0:
        report.notes.append(f"train: skipped, torch is not installed for {python}.")
        return
    if shutil.which("make") is None:
        report.notes.append("train: skipped, make is not installed.")
        return
    project = bench.new_project(bench.fresh("train"), "--no-git")
    makefile = project / "Makefile"
    if not makefile.is_file() or "\ntrain:" not in f"\n{makefile.read_text()}":
        report.notes.append("train: skipped, the generated project has no `make train` target.")
        return
    env = {"PYTHONPATH": str(project / "src"), "PYTHON": python}
    bench.run(["make", "data"], project, env)
    name = f"{train_cmd} (CPU)"
    timings = bench.measure(
        "train", {name: lambda: bench.run(shlex.split(train_cmd), project, env)}
    )
    report.timings.extend(timings.values())
    report.figures.append(Figure("train", f"{train_cmd} wall", timings[name].median, "s"))
    results = sorted(project.glob("outputs/**/metrics/results.json"), key=os.path.getmtime)
    if not results:
        report.notes.append("train: no outputs/**/metrics/results.json was written.")
        return
    run_dir = results[-1].parent.parent
    metrics = json.loads(results[-1].read_text(encoding="utf-8"))
    for key, value in _numbers(metrics).items():
        report.figures.append(Figure("train", key, value, "results.json"))
    log = run_dir / "logs" / "training.log"
    rates = [float(m) for m in SAMPLES_PER_S.findall(log.read_text())] if log.is_file() else []
    if rates:
        rate = statistics.median(rates)
        report.figures.append(Figure("train", "training loop", rate, "samples/s"))


def markdown(report: Report) -> str:
    """The report as Markdown tables, ready to paste into benchmarks/README.md."""
    m = report.machine
    lines = [
        f"Machine: {m['platform']}, {m['cpu']}, {m['cpu_count']} CPUs "
        f"({m['usable_cpus']} usable), Python {m['python']}",
        "",
        "| case | command | median s | min s | max s | runs |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for t in report.timings:
        lines.append(
            f"| {t.case} | `{t.name}` | {t.median:.3f} | {min(t.samples):.3f} "
            f"| {max(t.samples):.3f} | {len(t.samples)} |"
        )
    if report.ratios:
        lines += ["", "| case | ratio | value | target | met |", "|---|---|---:|---:|---|"]
        for r in report.ratios:
            lines.append(
                f"| {r.case} | `{r.subject}` / `{r.baseline}` | {r.value:.2f}x "
                f"| <= {r.target:.2f}x | {'yes' if r.met else 'NO'} |"
            )
    if report.figures:
        lines += ["", "| case | figure | value |", "|---|---|---:|"]
        for f in report.figures:
            lines.append(f"| {f.case} | {f.name} | {f.value:.3g} {f.unit} |")
    lines += [""] + [f"- note: {note}" for note in report.notes]
    lines += [f"- error in {case}: {error}" for case, error in report.errors.items()]
    return "\n".join(lines).rstrip() + "\n"


CASES = ("help", "new", "update", "sweep", "train")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of this script."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per command (>= 5)")
    parser.add_argument("--only", action="append", choices=CASES, help="run only this case")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="sweep processes")
    parser.add_argument("--train-cmd", default="make train", help="the train case's command")
    parser.add_argument(
        "--train-python", default=sys.executable, help="interpreter with torch for `make train`"
    )
    parser.add_argument("--dlproj", help="the dlproj executable to time (e.g. a wheel install)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen cases; exit 1 when a case failed to run (missed targets exit 0)."""
    args = parse_args(argv)
    if args.repeat < 5:
        print(f"warning: --repeat {args.repeat} < 5: medians are not comparable.", file=sys.stderr)
    report = Report(machine=machine())
    root = Path(tempfile.mkdtemp(prefix="dlproj-bench-"))
    cases: dict[str, Callable[[Bench, Report], None]] = {
        "help": case_help,
        "new": case_new,
        "update": case_update,
        "sweep": case_sweep,
        "train": lambda bench, rep: case_train(bench, rep, args.train_cmd, args.train_python),
    }
    try:
        bench = Bench(root, repeat=args.repeat, jobs=args.jobs, dlproj=args.dlproj)
        report.machine["tools"] = {"dlproj": bench.dlproj, "copier": bench.copier}
        for name in dict.fromkeys(args.only or CASES):
            print(f"running {name} ...", file=sys.stderr, flush=True)
            try:
                cases[name](bench, report)
            except BenchError as err:
                report.errors[name] = str(err)
    except BenchError as err:
        report.errors["setup"] = str(err)
    finally:
        if args.keep:
            print(f"scratch folder kept: {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(markdown(report), end="")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
