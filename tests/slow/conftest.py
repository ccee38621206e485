"""Shared environments for the slow tests: one virtual environment per framework per test session.

Generated projects need heavy packages (torch, onnxruntime, hydra, trackers). Installing them for
every test would take minutes, so tests share one environment per framework, built once with uv
and uv's cache, even under pytest-xdist (a file lock serialises the build; the other workers wait
and reuse it). A project never gets installed into it: `Env.run` puts the project's own `src/` on
PYTHONPATH, so many rendered projects can use one environment at the same time.

API, for every slow test module (pytorch, lightning, tensorflow, jax, tooling)::

    def test_something(project_env, tmp_path):
        env = project_env("pytorch")                 # -> Env, built at most once per session
        project = render_project(tmp_path)
        env.make(project, "data", "train", args="trainer.epochs=2")   # Makefile with PYTHON=env
        env.run(["python", "-m", "pytest", "-q"], cwd=project)       # env's bin/ first on PATH
        env.python                                                   # <env>/bin/python

    project_env("pytorch", extra=("fastapi==0.165.0",))   # more packages: a separate environment

The packages come from the template's own table (templates/default/_includes/deps.jinja):
the common and framework rows, every config_system and tracking choice, and the dev row.

uv gets this machine's pip settings (find-links, constraints, index URLs, certificate), read from
`pip config list` when the tests run: see `uv_environment()`. OMP_NUM_THREADS=1 keeps parallel
workers from oversubscribing the cores.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2
import pytest
from filelock import FileLock

from tests.helpers import TEMPLATE_DIR, run

# pip option -> uv environment variable, and how uv separates several values.
_PIP_TO_UV = {
    "find-links": ("UV_FIND_LINKS", ","),
    "constraint": ("UV_CONSTRAINT", " "),
    "extra-index-url": ("UV_EXTRA_INDEX_URL", " "),
    "index-url": ("UV_INDEX_URL", " "),
}
# Later scopes win, as in pip: global < user < site < environment variables.
_SCOPES = ("global", "user", "site", ":env:")


@cache
def uv_environment() -> dict[str, str]:
    """Environment variables that hand uv the pip settings of this machine (empty if none)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        capture_output=True,
        text=True,
        check=False,
    )
    settings: dict[str, tuple[int, str]] = {}
    for line in proc.stdout.splitlines():
        key, sep, raw = line.partition("=")
        if not sep:
            continue
        scope, _, option = key.rpartition(".")
        rank = _SCOPES.index(scope) if scope in _SCOPES else 0
        value = raw.strip().strip("'\"")
        if option not in settings or rank >= settings[option][0]:
            settings[option] = (rank, value)
    env: dict[str, str] = {}
    if "extra-index-url" in settings or "find-links" in settings:
        # pip takes the best version from every index; uv only does when told to.
        env["UV_INDEX_STRATEGY"] = "unsafe-best-match"
    for option, (_, value) in settings.items():
        if option in _PIP_TO_UV:
            name, separator = _PIP_TO_UV[option]
            env[name] = separator.join(value.split())
        elif option == "cert" and "SSL_CERT_FILE" not in os.environ:
            env["SSL_CERT_FILE"] = value
    return env


def template_requirements(framework: str) -> list[str]:
    """Every package a project of ``framework`` may need, read from the template's deps table."""
    loader = jinja2.FileSystemLoader(TEMPLATE_DIR)
    module = (
        jinja2.Environment(loader=loader)
        .get_template("_includes/deps.jinja")
        .make_module(
            {
                "framework": framework,
                "config_system": "hydra",
                "tracking": "none",
                "serving": "none",
                "cluster": "none",
                "docs": "markdown",
                "dvc": False,
                "notebooks": False,
                "pre_commit": False,
            }
        )
    )
    table = module.table  # type: ignore[attr-defined]
    requirements = [*table["common"], *table["framework"][framework], *table["dev"]]
    for section in ("config_system", "tracking"):
        for packages in table[section].values():
            requirements += packages
    return sorted(set(requirements))


@dataclass(frozen=True)
class Env:
    """A virtual environment with a framework's packages; run project commands inside it."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def environ(
        self, cwd: Path | None = None, extra: dict[str, str] | None = None
    ) -> dict[str, str]:
        """os.environ with this env first on PATH, the project's src/ importable, 1 BLAS thread."""
        env = {
            **os.environ,
            **uv_environment(),
            "VIRTUAL_ENV": str(self.root),
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "MPLBACKEND": "Agg",
        }
        if cwd is not None and (cwd / "src").is_dir():
            env["PYTHONPATH"] = str(cwd / "src")
        env.update(extra or {})
        return env

    def run(
        self,
        cmd: Sequence[str] | str,
        cwd: Path,
        *,
        env: dict[str, str] | None = None,
        timeout: float = 900,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``cmd`` in ``cwd`` inside this environment; on failure, assert with the output."""
        command = cmd if isinstance(cmd, str) else list(cmd)
        return run(command, cwd, env=self.environ(cwd, env), timeout=timeout, check=check)

    def make(
        self,
        project: Path,
        *targets: str,
        args: str = "",
        env: dict[str, str] | None = None,
        timeout: float = 900,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """`make TARGETS PYTHON=<this env's python> [ARGS=...]` in a generated project."""
        cmd = ["make", *targets, f"PYTHON={self.python}"]
        if args:
            cmd.append(f"ARGS={args}")
        return self.run(cmd, project, env=env, timeout=timeout, check=check)


UV = [sys.executable, "-m", "uv"]  # uv is one of dlproj's dev dependencies


def _build(root: Path, requirements: list[str]) -> None:
    env = {**os.environ, **uv_environment(), "UV_COMPILE_BYTECODE": "1"}
    env.pop("VIRTUAL_ENV", None)
    subprocess.run(
        [*UV, "venv", "--quiet", "--python", sys.executable, str(root)], env=env, check=True
    )
    proc = subprocess.run(
        [*UV, "pip", "install", "--quiet", "--python", str(root / "bin" / "python"), *requirements],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"installing {shlex.join(requirements)} failed:\n{proc.stdout}\n{proc.stderr}"
        )


@pytest.fixture(scope="session")
def project_env(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Env]:
    """Factory: ``project_env(framework, extra=())`` -> Env, built once, shared by all workers."""
    shared = tmp_path_factory.getbasetemp().parent / "dlproj-envs"
    shared.mkdir(parents=True, exist_ok=True)

    def get(framework: str = "pytorch", extra: Sequence[str] = ()) -> Env:
        requirements = sorted({*template_requirements(framework), *extra})
        digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:12]
        root = shared / f"{framework}-{digest}"
        ready = root / ".dlproj-ready"
        with FileLock(str(shared / f"{root.name}.lock"), timeout=1800):
            if not ready.exists():
                if root.exists():
                    subprocess.run(["rm", "-rf", str(root)], check=True)  # a half-built env
                _build(root, requirements)
                ready.write_text("\n".join(requirements) + "\n")
        return Env(root)

    return get
