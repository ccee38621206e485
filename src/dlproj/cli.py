"""The ``dlproj`` command line: parse, call the core, print, and map errors to exit codes.

Heavy modules (copier, jinja2, rich's renderers) are imported inside the commands, so ``--help``
and ``--version`` stay fast.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from . import __version__
from .errors import DlprojError

__all__ = ["app", "main"]

app = typer.Typer(
    name="dlproj",
    help="Start deep-learning projects laid out the way the best teams do, and keep them current.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
)

_state = {"verbose": False}
F = TypeVar("F", bound=Callable[..., Any])


def _guard(command: F) -> F:
    """The one place where errors become exit codes: a red sentence, no traceback unless -v."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .console import err_console

        try:
            return command(*args, **kwargs)
        except DlprojError as err:
            if _state["verbose"]:
                err_console().print_exception()
            err_console().print(f"[red]Error:[/red] {err}", soft_wrap=True)
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt:
            err_console().print("[yellow]Interrupted: nothing was left behind.[/yellow]")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dlproj {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show debug logs and tracebacks.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Start deep-learning projects laid out the way the best teams do, and keep them current."""
    from .console import setup_logging

    _state["verbose"] = verbose
    setup_logging(verbose)


DataOption = Annotated[
    list[str] | None,
    typer.Option("--data", "-d", help="Answer one question: KEY=VALUE (repeatable)."),
]


@app.command()
@_guard
def new(
    name: Annotated[str, typer.Argument(help="Project name: folder, distribution and package.")],
    dst: Annotated[
        Path, typer.Option("--dst", "-o", help="Parent folder of the new project.")
    ] = Path(),
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Answer every question not given with --data.")
    ] = False,
    data: DataOption = None,
    template: Annotated[
        str | None, typer.Option("--template", help="Another copier template (path or git URL).")
    ] = None,
    vcs_ref: Annotated[
        str | None, typer.Option("--vcs-ref", help="Git tag, branch or commit of --template.")
    ] = None,
    no_git: Annotated[
        bool, typer.Option("--no-git", help="Do not create a git repository.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Render into an existing non-empty folder.")
    ] = False,
    trust: Annotated[
        bool, typer.Option("--trust", help="Allow a third-party template to run its tasks.")
    ] = False,
    install: Annotated[
        bool, typer.Option("--install", help="Then set up the environment and run the tests.")
    ] = False,
) -> None:
    """Create a new project NAME by answering the template's questions.

    Example: `dlproj new digits --defaults --data tracking=mlflow`
    """
    from .answers import parse_data_items
    from .console import err_console, progress
    from .render import NewProject, render_project
    from .summary import print_summary, run_install

    console = err_console()
    interactive = not defaults and sys.stdin.isatty()
    if not defaults and not interactive:
        console.print("No terminal to ask questions on: using the defaults (--defaults).")
    request = NewProject(
        name=name,
        parent=dst,
        data=parse_data_items(data or []),
        defaults=not interactive,
        template=template,
        vcs_ref=vcs_ref,
        git=not no_git,
        force=force,
        trust=trust,
    )
    # No spinner while copier asks questions: it would draw over the prompts.
    with progress(console, "Rendering", enabled=not interactive) as step:
        result = render_project(request, step=step)
    print_summary(console, result)
    if install:
        run_install(console, result)


@app.command()
@_guard
def options(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List every question of the bundled template: type, choices, default and condition.

    Example: `dlproj options --json | jq '.[].name'`
    """
    from .options import load_questions
    from .source import bundled_copier_yml

    questions = load_questions(bundled_copier_yml())
    if as_json:
        typer.echo(json.dumps([q.to_json() for q in questions], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("question", "type", "choices", "default", "asked when", "help")
    for q in questions:
        choices = ", ".join(str(v) for v in q.values)
        when = "never (derived)" if q.derived else ("always" if q.when is True else str(q.when))
        table.add_row(q.name, q.type, choices, str(q.default), when, q.help)
    Console().print(table)


ProjectArgument = Annotated[
    Path, typer.Argument(help="The project folder (default: the current folder).")
]


@app.command()
@_guard
def update(
    path: ProjectArgument = Path(),
    data: DataOption = None,
    vcs_ref: Annotated[
        str | None, typer.Option("--vcs-ref", help="Update to this template tag or commit.")
    ] = None,
    pretend: Annotated[
        bool, typer.Option("--pretend", help="Show what would change, write nothing.")
    ] = False,
    trust: Annotated[
        bool, typer.Option("--trust", help="Allow a third-party template to run migrations.")
    ] = False,
) -> None:
    """Pull template changes into a project, keeping your edits (three-way merge).

    Example: `dlproj update --data docker=true`
    """
    from .answers import parse_data_items
    from .console import err_console, progress
    from .update import UpdateRequest, update_project

    console = err_console()
    request = UpdateRequest(
        path=path, data=parse_data_items(data or []), vcs_ref=vcs_ref, pretend=pretend, trust=trust
    )
    with progress(console, "Updating"):
        result = update_project(request)
    verb = "Would change" if pretend else "Changed"
    if not result.changed:
        console.print(
            "Already up to date: nothing to change." if not pretend else "Nothing would change."
        )
    else:
        if result.from_commit:
            console.print(f"Template {result.from_commit} -> {result.to_commit}")
        console.print(f"{verb} {len(result.changed)} file(s):")
        for name in result.changed:
            console.print(f"  {name}")
    for name in result.kept_edited:
        console.print(
            f"[yellow]Kept {name}:[/yellow] its component was turned off, but you had edited it."
        )


@app.command()
@_guard
def check(
    path: ProjectArgument = Path(),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Exit 0 when the project is on its template's newest version, 1 when it is behind.

    Example: `dlproj check --json` (in a project's CI)
    """
    from .console import err_console
    from .update import check_project

    result = check_project(path)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    elif result.up_to_date:
        err_console().print(f"Up to date with the template ({result.current}).")
    else:
        err_console().print(
            f"Behind the template: {result.current} -> {result.latest}; run dlproj update."
        )
    if not result.up_to_date:
        raise typer.Exit(1)


@app.command()
@_guard
def variants(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for CI.")] = False,
) -> None:
    """Print the answer sets the checks render: every value, plus an all-pairs cover.

    Example: `dlproj variants --json > variants.json`
    """
    from .options import load_questions
    from .source import bundled_copier_yml
    from .variants import build_variants

    found = build_variants(load_questions(bundled_copier_yml()))
    if as_json:
        typer.echo(json.dumps([{"id": v.id, "answers": v.answers} for v in found], indent=2))
        return
    for variant in found:
        typer.echo(f"{variant.id}: {variant.describe()}")
    typer.echo(f"{len(found)} variants")


def main() -> None:
    """Entry point of the ``dlproj`` console script."""
    app()


if __name__ == "__main__":
    main()
