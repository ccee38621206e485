"""Git helpers: each runs one git command as a subprocess, with no shell in between."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "FALLBACK_IDENTITY",
    "GitError",
    "commit_all",
    "git",
    "init_repo",
    "inside_work_tree",
    "is_dirty",
]

# Used when the user has no git identity yet, so the first commit of a new project still works.
FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "dlproj",
    "GIT_AUTHOR_EMAIL": "dlproj@localhost",
    "GIT_COMMITTER_NAME": "dlproj",
    "GIT_COMMITTER_EMAIL": "dlproj@localhost",
}


class GitError(RuntimeError):
    """A git command failed; carries its stderr."""


def git(
    args: Sequence[str],
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
) -> str:
    """Run ``git ARGS`` and return its stdout, stripped of the final newline.

    Raises:
        GitError: git exited non-zero (or is not installed).
    """
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})}
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=full_env,
            input=input_text,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError as err:
        raise GitError("git is not installed or not on PATH") from err
    if proc.returncode != 0:
        raise GitError(proc.stderr.strip() or f"git {' '.join(args)} failed")
    return proc.stdout.rstrip("\n")


def inside_work_tree(path: Path) -> bool:
    """True when ``path`` (or its nearest existing parent) is inside a git work tree."""
    probe = path
    while not probe.exists():
        probe = probe.parent
    try:
        return git(["rev-parse", "--is-inside-work-tree"], cwd=probe) == "true"
    except GitError:
        return False


def is_dirty(path: Path) -> bool:
    """True when the work tree has staged, unstaged or untracked changes."""
    return bool(git(["status", "--porcelain", "--untracked-files=normal"], cwd=path))


def _has_identity(path: Path) -> bool:
    try:
        git(["config", "user.name"], cwd=path)
        git(["config", "user.email"], cwd=path)
    except GitError:
        return False
    return True


def init_repo(path: Path) -> None:
    """``git init -b main`` in ``path``."""
    git(["init", "--quiet", "--initial-branch=main"], cwd=path)


def commit_all(path: Path, message: str) -> None:
    """Stage everything and commit, with a fallback identity when git has none configured."""
    git(["add", "--all"], cwd=path)
    env = None if _has_identity(path) else FALLBACK_IDENTITY
    git(["commit", "--quiet", "--no-verify", "-m", message], cwd=path, env=env)
