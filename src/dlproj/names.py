"""Project names: what ``dlproj new NAME`` accepts, and the package name derived from it."""

from __future__ import annotations

import keyword
import re
import sys

from .errors import UsageError

__all__ = ["RESERVED_MODULES", "package_name_for", "validate_project_name"]

MAX_LENGTH = 64

# PEP 508 names: ASCII letters and digits, with '-', '_' or '.' inside, never at either end.
_PEP508_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")

# Import names of the generated project's dependencies: a package called `torch` would shadow
# the real one and fail with a confusing ImportError deep inside training.
RESERVED_MODULES = frozenset(
    {
        "dvc", "fastapi", "flax", "hydra", "jax", "jaxlib", "keras", "lightning", "matplotlib",
        "mlflow", "numpy", "omegaconf", "onnx", "onnxruntime", "optax", "orbax", "pandas",
        "pytest", "pytorch_lightning", "ruff", "scipy", "sklearn", "submitit", "tensorboard",
        "tensorflow", "torch", "uvicorn", "wandb", "yaml",
    }
)  # fmt: skip


def package_name_for(project_name: str) -> str:
    """The import name copier.yml derives: lower case, with '-' and '.' turned into '_'."""
    return project_name.lower().replace("-", "_").replace(".", "_")


def validate_project_name(name: str) -> str:
    """Return ``name`` if it can be a folder, a distribution and (derived) a package name.

    Raises:
        UsageError: with one sentence saying what is wrong and what would work.
    """
    shown = repr(name) if len(name) <= 40 else repr(name[:37] + "...")
    if not name:
        raise UsageError("The project name is empty: give a name such as 'digit-classifier'.")
    if not name.isascii():
        raise UsageError(f"The project name {shown} has non-ASCII characters: use ASCII letters.")
    if len(name) > MAX_LENGTH:
        raise UsageError(
            f"The project name is {len(name)} characters long: use at most {MAX_LENGTH}."
        )
    if "/" in name or "\\" in name or name.startswith("."):
        raise UsageError(
            f"The project name {shown} looks like a path: give a plain name and choose the "
            "parent folder with --dst."
        )
    if not _PEP508_NAME.match(name):
        raise UsageError(
            f"The project name {shown} is not a valid package name: use letters, digits, '-', "
            "'_' and '.', starting and ending with a letter or digit."
        )
    package = package_name_for(name)
    if not package.isidentifier() or package[0].isdigit():
        raise UsageError(
            f"The project name {shown} gives the package name '{package}', which is not a "
            "Python identifier: start the name with a letter."
        )
    if keyword.iskeyword(package) or keyword.issoftkeyword(package):
        raise UsageError(
            f"The project name {shown} gives the package name '{package}', a Python keyword: "
            "choose another name."
        )
    if package in sys.stdlib_module_names or package in RESERVED_MODULES:
        raise UsageError(
            f"The project name {shown} gives the package name '{package}', which would shadow "
            f"the module of that name: choose another name, e.g. 'my-{package}'."
        )
    return name
