"""Build a git bundle holding a template's release history.

copier records ``_commit`` and can only update from a git source, so dlproj hands its bundled
template to copier as a git repository. The history is cut out of dlproj's own repository: every
first-parent commit that touched ``templates/<name>`` becomes a commit whose root *is* that folder,
with the original author, dates and message, so the same source history always gives the same
commit ids (a project made by one build can be updated by any later build). Release tags ``v*``
are carried over to the commit they contain. Uncommitted template edits (a development checkout)
become one extra commit on top, so a build never silently drops them.

Used by the wheel build hook (``hatch_build.py``) and, for a source checkout, at run time.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .vcs import GitError, git

__all__ = ["BundleInfo", "build_bundle", "source_state"]

_FIELD = "\x00"
_RECORD = "\x1e"
_DEV_IDENTITY = ("dlproj development build", "dev@dlproj.invalid")


@dataclass(frozen=True, slots=True)
class BundleInfo:
    """What a built bundle holds: the commit to render and the release tags it carries."""

    ref: str
    tags: tuple[str, ...]
    dirty: bool


def _toplevel(path: Path) -> Path | None:
    try:
        return Path(git(["rev-parse", "--show-toplevel"], cwd=path))
    except GitError:
        return None


def _commit_tree(
    split: Path, tree: str, parents: str | list[str] | None, message: str, identity: dict[str, str]
) -> str:
    parent_list = [parents] if isinstance(parents, str) else list(parents or [])
    args = ["commit-tree", tree] + [arg for p in parent_list for arg in ("-p", p)]
    return git(args, env={"GIT_DIR": str(split), **identity}, input_text=message)


def _replay_history(repo: Path, prefix: str, split: Path) -> dict[str, str]:
    """Re-create every first-parent commit touching ``prefix`` with ``prefix`` as its root."""
    try:
        git(["rev-parse", "--verify", "--quiet", "HEAD"], cwd=repo)
    except GitError:
        return {}  # no commits yet
    log = git(
        [
            "log", "--first-parent", "--reverse", "--date=raw",
            "--format=%H%x00%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd%x00%B%x1e",
            "HEAD", "--", prefix,
        ],
        cwd=repo,
    )  # fmt: skip
    records = [r.strip("\n") for r in log.split(_RECORD) if r.strip("\n")]
    if not records:
        return {}
    commits = [r.split(_FIELD) for r in records]
    trees = git(["rev-parse", *(f"{c[0]}:{prefix}" for c in commits)], cwd=repo).split("\n")
    mapping: dict[str, str] = {}
    parent: str | None = None
    last_tree = None
    for (sha, an, ae, ad, cn, ce, cd, message), tree in zip(commits, trees, strict=True):
        if tree != last_tree:
            identity = {
                "GIT_AUTHOR_NAME": an, "GIT_AUTHOR_EMAIL": ae, "GIT_AUTHOR_DATE": ad,
                "GIT_COMMITTER_NAME": cn, "GIT_COMMITTER_EMAIL": ce, "GIT_COMMITTER_DATE": cd,
            }  # fmt: skip
            parent = _commit_tree(split, tree, parent, message, identity)
            last_tree = tree
        assert parent is not None
        mapping[sha] = parent
    return mapping


def _carry_tags(repo: Path, prefix: str, split: Path, mapping: dict[str, str]) -> list[str]:
    tags = git(["tag", "--list", "v*", "--merged", "HEAD"], cwd=repo).split()
    carried = []
    for tag in tags:
        source = git(["rev-list", "-1", "--first-parent", tag, "--", prefix], cwd=repo)
        if source in mapping:
            git(["tag", "--force", tag, mapping[source]], env={"GIT_DIR": str(split)})
            carried.append(tag)
    return carried


def _worktree_tree(repo: Path | None, template: Path, split: Path, scratch: Path) -> str:
    """The tree of the template as it is on disk, honouring the repository's ignore rules."""
    index = {"GIT_INDEX_FILE": str(scratch / "index")}
    if repo is None:
        env = {"GIT_DIR": str(split), "GIT_WORK_TREE": str(template), **index}
        git(["add", "--all", "."], cwd=template, env=env)
        return git(["write-tree"], env=env)
    prefix = template.relative_to(repo).as_posix()
    with contextlib.suppress(GitError):  # no commits yet: start from an empty index
        git(["read-tree", "HEAD"], cwd=repo, env=index)
    git(["add", "--all", "--", prefix], cwd=repo, env=index)
    return git(["write-tree", f"--prefix={prefix}/"], cwd=repo, env=index)


def _previous_head(split: Path, previous: Path | None) -> str | None:
    """The HEAD of an earlier bundle, fetched into ``split``, so its commits stay reachable."""
    if previous is None or not previous.is_file():
        return None
    env = {"GIT_DIR": str(split)}
    try:
        git(["fetch", "--quiet", str(previous), "HEAD:refs/previous"], env=env)
        head = git(["rev-parse", "refs/previous"], env=env)
        git(["update-ref", "-d", "refs/previous"], env=env)
    except GitError:
        return None
    return head


def _worktree_commit(
    repo: Path | None,
    template: Path,
    split: Path,
    scratch: Path,
    ref: str | None,
    previous: Path | None,
) -> tuple[str, bool]:
    """Commit the folder as it is on disk on top of ``ref``; returns (commit, made a new one?)."""
    env = {"GIT_DIR": str(split)}
    tree = _worktree_tree(repo, template, split, scratch)
    if ref and git(["rev-parse", f"{ref}^{{tree}}"], env=env) == tree:
        return ref, False
    earlier = _previous_head(split, previous)
    if earlier and git(["rev-parse", f"{earlier}^{{tree}}"], env=env) == tree:
        return earlier, True  # nothing changed since the earlier bundle: keep its commit
    name, email = _DEV_IDENTITY
    identity = {
        "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email,
        # A fixed date keeps the id stable for the same content.
        "GIT_AUTHOR_DATE": "1700000000 +0000", "GIT_COMMITTER_DATE": "1700000000 +0000",
    }  # fmt: skip
    parents = [p for p in dict.fromkeys((ref, earlier)) if p]
    return _commit_tree(split, tree, parents, "Uncommitted template changes\n", identity), True


def build_bundle(
    template: Path, out: Path, *, include_worktree: bool = True, previous: Path | None = None
) -> BundleInfo:
    """Write ``out``, a git bundle of the history of the template folder ``template``.

    Args:
        template: the template folder (holding copier.yml), inside a git checkout or not.
        out: the bundle file to write (replaced atomically).
        include_worktree: add uncommitted edits of the folder as one commit on top.
        previous: an earlier bundle of the same checkout. Its uncommitted-edit commit becomes a
            second parent of the new one, so projects rendered from it can still be updated.
    """
    template = template.resolve()
    repo = _toplevel(template)
    with tempfile.TemporaryDirectory(prefix="dlproj-bundle-") as tmp:
        scratch = Path(tmp)
        split = scratch / "split.git"
        git(["init", "--quiet", "--bare", str(split)])
        mapping: dict[str, str] = {}
        tags: list[str] = []
        if repo is not None:
            objects = Path(git(["rev-parse", "--git-common-dir"], cwd=repo))
            objects = (repo / objects if not objects.is_absolute() else objects) / "objects"
            (split / "objects" / "info" / "alternates").write_text(f"{objects}\n")
            prefix = template.relative_to(repo).as_posix()
            mapping = _replay_history(repo, prefix, split)
            tags = _carry_tags(repo, prefix, split, mapping) if mapping else []
        head = (
            git(["rev-list", "-1", "--first-parent", "HEAD", "--", prefix], cwd=repo)
            if (repo is not None and mapping)
            else ""
        )
        ref = mapping.get(head)
        dirty = False
        if include_worktree or ref is None:
            ref, dirty = _worktree_commit(repo, template, split, scratch, ref, previous)
        assert ref is not None
        split_env = {"GIT_DIR": str(split)}
        git(["update-ref", "refs/heads/main", ref], env=split_env)
        git(["symbolic-ref", "HEAD", "refs/heads/main"], env=split_env)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        git(["bundle", "create", "--quiet", str(partial), "--all"], env=split_env)
        partial.replace(out)
    return BundleInfo(ref=ref, tags=tuple(tags), dirty=dirty)


def source_state(template: Path) -> str:
    """A key that changes whenever the bundle built from ``template`` would change.

    It is the repository's HEAD plus the tree of the folder as it is on disk (uncommitted edits
    included), so a source checkout rebuilds its bundle only after an edit or a commit.
    """
    template = template.resolve()
    repo = _toplevel(template)
    if repo is None:
        return ""  # not a checkout: always rebuild
    with tempfile.TemporaryDirectory(prefix="dlproj-state-") as tmp:
        tree = _worktree_tree(repo, template, Path(tmp) / "unused.git", Path(tmp))
    try:
        head = git(["rev-parse", "--verify", "--quiet", "HEAD"], cwd=repo)
    except GitError:
        head = "none"
    return f"{head}:{tree}"
