"""Render a new project: the sole caller of ``copier.run_copy``.

The project is built in a hidden folder beside its destination and moved into place only once it
is complete, so a failure or Ctrl-C never leaves a half-written project behind.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from . import vcs
from .answers import resolve_answers, validate_answers
from .errors import AnswersError, TemplateError, TrustError, UsageError
from .names import validate_project_name
from .options import load_questions
from .source import TemplateSource, bundled_source

__all__ = ["NewProject", "RenderResult", "render_project"]

log = logging.getLogger(__name__)

Step = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class NewProject:
    """Everything ``dlproj new`` needs to know, already parsed."""

    name: str
    parent: Path
    data: Mapping[str, Any] = field(default_factory=dict)
    defaults: bool = False
    template: str | None = None
    vcs_ref: str | None = None
    git: bool = True
    force: bool = False
    trust: bool = False


@dataclass(frozen=True, slots=True)
class RenderResult:
    """What was made, for the summary."""

    path: Path
    answers: dict[str, Any]
    git_note: str


def _check_destination(dst: Path, force: bool) -> None:
    if dst.exists() and not dst.is_dir():
        raise UsageError(f"{dst} exists and is not a folder: choose another name or --dst.")
    if dst.is_dir() and any(dst.iterdir()) and not force:
        raise UsageError(
            f"{dst} already exists and is not empty: choose another name, or pass --force to "
            "render into it (files the template does not own are kept)."
        )


def _source(request: NewProject) -> TemplateSource:
    if request.template is None:
        return bundled_source()
    return TemplateSource(url=request.template, vcs_ref=request.vcs_ref, bundled=False)


def _prevalidate(source: TemplateSource, data: Mapping[str, Any], defaults: bool) -> None:
    """Refuse bad answers before anything is written (copier would only say so mid-way)."""
    if source.copier_yml is None:
        return
    questions = load_questions(source.copier_yml)
    answers = resolve_answers(questions, data)
    if defaults:
        validate_answers(questions, answers)
    else:  # the rest is asked interactively, and copier validates it as it is typed
        validate_answers(tuple(q for q in questions if q.name in data), answers)


def _run_copier(source: TemplateSource, dst: Path, request: NewProject) -> None:
    import copier
    from copier.errors import CopierError, UnsafeTemplateError, UserMessageError
    from jinja2 import TemplateError as JinjaError

    try:
        copier.run_copy(
            source.url,
            dst,
            data=dict(request.data),
            vcs_ref=source.vcs_ref,
            defaults=request.defaults,
            unsafe=source.bundled or request.trust,
            quiet=True,
        )
    except UnsafeTemplateError as err:
        raise TrustError(
            f"The template {source.url} wants to run code ({err}); read it, then pass --trust "
            "to allow it."
        ) from err
    except (ValueError, UserMessageError) as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if "validation error" in message.lower() or "answer" in message.lower():
            raise AnswersError(message) from err
        raise TemplateError(f"Could not render {source.url}: {message}") from err
    except (CopierError, JinjaError) as err:
        raise TemplateError(f"Could not render {source.url}: {type(err).__name__}: {err}") from err
    except OSError as err:
        raise TemplateError(f"Could not read the template {source.url}: {err}") from err


def _merge_into(staged: Path, dst: Path) -> None:
    """Copy the rendered files over ``dst``; files the template does not own are left alone."""
    for path in sorted(staged.rglob("*")):
        target = dst / path.relative_to(staged)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def render_project(request: NewProject, step: Step | None = None) -> RenderResult:
    """Render ``request`` into ``parent/name`` atomically.

    Raises:
        UsageError: bad name or destination.
        AnswersError: an answer the template does not accept.
        TemplateError: the template cannot be reached or rendered.
    """
    announce = step or (lambda _message: None)
    validate_project_name(request.name)
    dst = request.parent / request.name
    _check_destination(dst, request.force)

    announce("Preparing the template")
    source = _source(request)
    data = {"project_name": request.name, **request.data}
    request = replace(request, data=data)
    _prevalidate(source, data, request.defaults)

    try:
        request.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{request.name}.dlproj-", dir=request.parent))
    except OSError as err:
        raise UsageError(
            f"Cannot write into {request.parent} ({err.strerror}): choose another --dst."
        ) from err
    try:
        staged = staging / request.name
        announce("Rendering the project")
        _run_copier(source, staged, request)
        answers = yaml.safe_load((staged / ".copier-answers.yml").read_text(encoding="utf-8"))

        git_note = "git: skipped (--no-git)"
        in_repo = vcs.inside_work_tree(request.parent)
        fresh = not dst.exists() or not any(dst.iterdir())
        if request.git and in_repo:
            git_note = "git: inside an existing repository, files left uncommitted"
        elif request.git and fresh:
            announce("Creating the git repository")
            vcs.init_repo(staged)
            vcs.commit_all(staged, f"Start {request.name} from the dlproj template")
            git_note = "git: new repository on branch main, first commit made"
        elif request.git:
            git_note = "git: rendered into an existing folder (--force), nothing committed"

        if fresh:
            if dst.exists():
                dst.rmdir()
            staged.rename(dst)
        else:
            _merge_into(staged, dst)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RenderResult(path=dst, answers=answers or {}, git_note=git_note)
