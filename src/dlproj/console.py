"""Where dlproj talks to people: a stderr console and the logging set-up.

stdout is kept for results (``options --json``); every message goes to stderr. Colour and
decoration follow rich's detection, which honours ``NO_COLOR`` and non-terminal output.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["err_console", "progress", "setup_logging"]


@cache
def err_console() -> Console:
    """The stderr console (created on first use, so ``--help`` never imports rich's renderer)."""
    from rich.console import Console

    # soft_wrap: never break a path or a command in two; the terminal wraps long lines itself.
    return Console(stderr=True, highlight=False, soft_wrap=True)


def setup_logging(verbose: bool) -> None:
    """Show dlproj's debug log on stderr with ``-v``; stay quiet otherwise."""
    if not verbose:
        logging.getLogger("dlproj").setLevel(logging.WARNING)
        return
    from rich.logging import RichHandler

    handler = RichHandler(console=err_console(), show_path=False)
    logging.basicConfig(level=logging.DEBUG, handlers=[handler], format="%(message)s")


@contextmanager
def progress(
    console: Console, label: str, *, enabled: bool = True
) -> Iterator[Callable[[str], None]]:
    """A spinner on a terminal, nothing otherwise; yields a function that relabels the step."""
    if not (enabled and console.is_terminal):
        yield lambda _message: None
        return
    with console.status(label, spinner="dots") as status:
        yield status.update
