"""What ``dlproj new`` shows when it is done, and its optional ``--install`` step."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

from .errors import InstallError

if TYPE_CHECKING:
    from rich.console import Console

    from .render import RenderResult

__all__ = ["next_commands", "print_summary", "run_install"]

_SHOWN = 14  # top-level entries shown in the tree before "..."


def next_commands(result: RenderResult) -> list[str]:
    """The commands a user runs next, in order."""
    return [f"cd {result.path}", "make setup", "make data", "make train", "make test"]


def print_summary(console: Console, result: RenderResult) -> None:
    """A tree of what was made and the next commands; plain text when not on a terminal."""
    entries = sorted(result.path.iterdir(), key=lambda p: (not p.is_dir(), p.name.lower()))
    entries = [p for p in entries if p.name != ".git"]
    if console.is_terminal:
        from rich.tree import Tree

        tree = Tree(f"[bold green]{result.path}[/bold green]")
        for entry in entries[:_SHOWN]:
            tree.add(f"[blue]{entry.name}/[/blue]" if entry.is_dir() else entry.name)
        if len(entries) > _SHOWN:
            tree.add(f"... {len(entries) - _SHOWN} more")
        console.print(tree)
    else:
        console.print(f"Created {result.path} ({len(entries)} top-level entries)")
    console.print(result.git_note)
    console.print("Next:")
    for command in next_commands(result):
        console.print(f"  {command}")


def run_install(console: Console, result: RenderResult) -> None:
    """Set the environment up with the project's own manager, then run its tests."""
    for target in ("setup", "test"):
        console.print(f"Running make {target} ...")
        proc = subprocess.run(["make", target], cwd=result.path, check=False)
        if proc.returncode != 0:
            raise InstallError(
                f"'make {target}' failed in {result.path} (exit {proc.returncode}); "
                "the project is there, fix the environment and run it again."
            )
