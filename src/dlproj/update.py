"""Bring an existing project up to a newer template: the sole caller of ``copier.run_update``.

copier does the three-way merge. Around it, dlproj refuses what copier would get wrong or
half-do (a dirty tree, a missing or corrupt answers file, a project made by a newer dlproj),
keeps files the user edited when an answer turns their component off, and reports conflicts.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import vcs
from .answers import resolve_answers, validate_answers
from .errors import (
    ConflictError,
    TemplateError,
    TrustError,
    UpdateRefusedError,
)
from .options import load_questions
from .source import TemplateSource, bundled_source, is_bundled

__all__ = [
    "CheckResult",
    "UpdateRequest",
    "UpdateResult",
    "check_project",
    "read_answers",
    "update_project",
]

log = logging.getLogger(__name__)

ANSWERS_FILE = ".copier-answers.yml"
_CONFLICT_START = "<<<<<<< "


@dataclass(frozen=True, slots=True)
class UpdateRequest:
    """What ``dlproj update`` was asked to do."""

    path: Path
    data: Mapping[str, Any] = field(default_factory=dict)
    vcs_ref: str | None = None
    pretend: bool = False
    trust: bool = False


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """What an update changed (or, with ``pretend``, would change)."""

    from_commit: str
    to_commit: str
    changed: tuple[str, ...]
    kept_edited: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Whether a project is on its template's newest version."""

    src_path: str
    current: str
    latest: str
    up_to_date: bool

    def to_json(self) -> dict[str, Any]:
        """A plain dict for ``dlproj check --json``."""
        return {
            "src_path": self.src_path,
            "current": self.current,
            "latest": self.latest,
            "up_to_date": self.up_to_date,
        }


def read_answers(project: Path) -> dict[str, Any]:
    """The project's recorded answers.

    Raises:
        UpdateRefusedError: not a folder, no answers file, or one that cannot be used.
    """
    if not project.is_dir():
        raise UpdateRefusedError(f"{project} is not a folder: run dlproj in a project folder.")
    answers_file = project / ANSWERS_FILE
    if not answers_file.is_file():
        raise UpdateRefusedError(
            f"{project} is not a dlproj/copier project: there is no {ANSWERS_FILE}."
        )
    try:
        answers = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise UpdateRefusedError(
            f"{answers_file} is corrupt ({type(err).__name__}): restore it from git history."
        ) from err
    if not isinstance(answers, dict) or not answers.get("_src_path") or not answers.get("_commit"):
        raise UpdateRefusedError(
            f"{answers_file} lacks _src_path or _commit: restore it from git history."
        )
    return answers


def _require_clean_git(project: Path) -> None:
    if not (project / ".git").exists() and not vcs.inside_work_tree(project):
        raise UpdateRefusedError(
            f"{project} is not a git repository: commit the project to git before updating."
        )
    if vcs.is_dirty(project):
        raise UpdateRefusedError(
            f"{project} has uncommitted changes: commit or stash them before updating."
        )


@contextmanager
def _template_clone(url: str) -> Iterator[Path]:
    """A bare clone of the template source, to compare versions without rendering anything."""
    location = str(Path(url).expanduser()) if url.startswith("~") else url
    with tempfile.TemporaryDirectory(prefix="dlproj-tpl-") as tmp:
        clone = Path(tmp) / "template.git"
        try:
            vcs.git(["clone", "--quiet", "--bare", location, str(clone)])
        except vcs.GitError as err:
            raise TemplateError(
                f"The template source {url} cannot be reached ({err}); check the path or "
                "network, or pass --vcs-ref for another version."
            ) from err
        yield clone


def _rev(clone: Path, ref: str) -> str | None:
    try:
        return vcs.git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=clone)
    except vcs.GitError:
        return None


def _newest_tag(clone: Path) -> str | None:
    """The tag copier would pick: the highest PEP 440 version, prereleases left out."""
    from packaging.version import InvalidVersion, Version

    best: tuple[Version, str] | None = None
    for tag in vcs.git(["tag", "--list"], cwd=clone).split():
        try:
            version = Version(tag)
        except InvalidVersion:
            continue
        if not version.is_prerelease and (best is None or version > best[0]):
            best = (version, tag)
    return best[1] if best else None


def _is_ancestor(clone: Path, older: str, newer: str) -> bool:
    try:
        vcs.git(["merge-base", "--is-ancestor", older, newer], cwd=clone)
    except vcs.GitError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class _Plan:
    source: TemplateSource
    current_sha: str | None
    target_sha: str
    target_ref: str


def _plan(answers: Mapping[str, Any], vcs_ref: str | None) -> _Plan:
    """Work out which template version to update to, refusing a downgrade from a newer dlproj."""
    src_path = str(answers["_src_path"])
    commit = str(answers["_commit"])
    if is_bundled(src_path):
        source = bundled_source()
        target_ref = vcs_ref or str(source.vcs_ref)
    else:
        source = TemplateSource(url=src_path, vcs_ref=vcs_ref, bundled=False)
        target_ref = vcs_ref or ""
    with _template_clone(source.url) as clone:
        if not target_ref:
            target_ref = _newest_tag(clone) or "HEAD"
        target_sha = _rev(clone, target_ref)
        if target_sha is None:
            raise TemplateError(f"The template has no version {target_ref!r}.")
        current_sha = _rev(clone, commit)
        behind = current_sha is not None and _is_ancestor(clone, current_sha, target_sha)
        if source.bundled and not vcs_ref and not behind:
            raise UpdateRefusedError(
                f"This project was made by a newer dlproj (template {commit}) than the one "
                "installed: upgrade dlproj, then update."
            )
    return _Plan(
        source=source, current_sha=current_sha, target_sha=target_sha, target_ref=target_ref
    )


def _validate_data(
    source: TemplateSource, answers: Mapping[str, Any], data: Mapping[str, Any]
) -> None:
    if source.copier_yml is None or not data:
        return
    questions = load_questions(source.copier_yml)
    previous = {k: v for k, v in answers.items() if not k.startswith("_")}
    known = {q.name for q in questions}
    merged = resolve_answers(
        questions, {**{k: v for k, v in previous.items() if k in known}, **data}
    )
    validate_answers(questions, merged)


def _changed_files(project: Path) -> list[str]:
    status = vcs.git(
        ["status", "--porcelain", "--untracked-files=all", "--no-renames"], cwd=project
    )
    return sorted(line[3:] for line in status.splitlines() if line)


def _deleted_files(project: Path) -> list[str]:
    status = vcs.git(["status", "--porcelain", "--no-renames"], cwd=project)
    return sorted(line[3:] for line in status.splitlines() if line[:2].strip() == "D")


def _conflicted(project: Path, files: list[str]) -> list[str]:
    found = []
    for name in files:
        path = project / name
        if path.is_file() and not path.name.endswith(".rej"):
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            if any(line.startswith(_CONFLICT_START) for line in text.splitlines()):
                found.append(name)
        elif path.name.endswith(".rej"):
            found.append(name)
    return found


def _pristine_render(
    source: TemplateSource, commit: str, answers: Mapping[str, Any], dst: Path
) -> None:
    """Render the project's current template version with its recorded answers."""
    import copier

    data = {k: v for k, v in answers.items() if not k.startswith("_")}
    copier.run_copy(
        source.url, dst, data=data, vcs_ref=commit, defaults=True, quiet=True, unsafe=True
    )


def _keep_edited(
    project: Path, deleted: list[str], source: TemplateSource, answers: Mapping[str, Any]
) -> list[str]:
    """Restore files the update deleted although the user had edited them."""
    if not deleted:
        return []
    with tempfile.TemporaryDirectory(prefix="dlproj-old-") as tmp:
        old = Path(tmp) / "old"
        _pristine_render(source, str(answers["_commit"]), answers, old)
        kept = []
        for name in deleted:
            committed = vcs.git(["show", f"HEAD:{name}"], cwd=project)
            original = old / name
            if (
                not original.is_file()
                or original.read_text(encoding="utf-8").rstrip("\n") != committed
            ):
                vcs.git(["checkout", "HEAD", "--", name], cwd=project)
                kept.append(name)
    return kept


def _run_copier_update(project: Path, plan: _Plan, request: UpdateRequest) -> None:
    import copier
    from copier.errors import CopierError, UnsafeTemplateError

    try:
        copier.run_update(
            project,
            data=dict(request.data),
            vcs_ref=plan.target_ref,
            defaults=True,
            overwrite=True,
            # False makes copier reload answers that a migration may have rewritten.
            skip_answered=False,
            conflict="inline",
            unsafe=plan.source.bundled or request.trust,
            quiet=True,
        )
    except UnsafeTemplateError as err:
        raise TrustError(
            f"The template {plan.source.url} wants to run code during the update ({err}); read "
            "it, then pass --trust to allow it."
        ) from err
    except (CopierError, ValueError) as err:
        raise TemplateError(f"The update failed: {type(err).__name__}: {err}") from err


def update_project(request: UpdateRequest) -> UpdateResult:
    """Update ``request.path`` to its template's newest (or ``vcs_ref``) version.

    Raises:
        UpdateRefusedError: nothing was changed (dirty tree, not a project, newer template...).
        TemplateError: the template source cannot be reached.
        ConflictError: the update is written but left conflict markers in the listed files.
    """
    project = request.path.resolve()
    answers = read_answers(project)
    _require_clean_git(project)
    plan = _plan(answers, request.vcs_ref)
    _validate_data(plan.source, answers, request.data)
    if plan.current_sha == plan.target_sha and not request.data:
        # Already on that version with the same answers: copier would render three times to
        # find nothing to change.
        commit = str(answers["_commit"])
        return UpdateResult(from_commit=commit, to_commit=commit, changed=())
    if request.pretend:
        return _pretend(project, request)

    _run_copier_update(project, plan, request)
    # Only an answer change turns a component off; files a new release drops are copier's call
    # (and a migration's, when the release renamed them).
    deleted = _deleted_files(project) if request.data else []
    kept = _keep_edited(project, deleted, plan.source, answers)
    changed = _changed_files(project)
    conflicts = _conflicted(project, changed)
    if conflicts:
        raise ConflictError(
            f"The update left conflicts in {len(conflicts)} file(s): {', '.join(conflicts)}. "
            "Resolve the marked blocks (git diff shows them), then commit.",
            conflicts,
        )
    new_answers = read_answers(project)
    return UpdateResult(
        from_commit=str(answers["_commit"]),
        to_commit=str(new_answers["_commit"]),
        changed=tuple(changed),
        kept_edited=tuple(kept),
    )


def _pretend(project: Path, request: UpdateRequest) -> UpdateResult:
    """Run the update in a throw-away clone and report what it would change."""
    with tempfile.TemporaryDirectory(prefix="dlproj-pretend-") as tmp:
        clone = Path(tmp) / project.name
        vcs.git(["clone", "--quiet", "--no-hardlinks", str(project), str(clone)])
        try:
            result = update_project(
                UpdateRequest(
                    path=clone, data=request.data, vcs_ref=request.vcs_ref, trust=request.trust
                )
            )
        except ConflictError as err:
            return UpdateResult(from_commit="", to_commit="", changed=tuple(err.files))
        finally:
            shutil.rmtree(clone, ignore_errors=True)
    return result


def check_project(path: Path) -> CheckResult:
    """Compare a project's template version with the newest one available.

    Raises:
        UpdateRefusedError: not a project, or its answers file is unusable.
        TemplateError: the template source cannot be reached.
    """
    project = path.resolve()
    answers = read_answers(project)
    plan = _plan(answers, None)
    latest = plan.target_ref if plan.target_ref != plan.source.vcs_ref else plan.target_sha[:7]
    return CheckResult(
        src_path=str(answers["_src_path"]),
        current=str(answers["_commit"]),
        latest=latest,
        up_to_date=plan.current_sha == plan.target_sha,
    )
