"""Where templates come from: the one bundled with dlproj, or a user's own copier template.

The bundled template travels inside the wheel as a git bundle (see :mod:`dlproj.bundle`). Before
copier sees it, it is installed at a fixed place in the user's data folder and handed over as a
``~/``-relative path, which copier records verbatim as ``_src_path``: the same answers file then
resolves on every machine where dlproj is installed, and every install keeps that file current.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .bundle import build_bundle, source_state

__all__ = [
    "BUNDLE_FILENAME",
    "TemplateSource",
    "bundled_source",
    "data_home",
    "is_bundled",
]

DEFAULT_TEMPLATE = "default"
BUNDLE_FILENAME = f"{DEFAULT_TEMPLATE}.bundle"
_CHECKOUT_TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / DEFAULT_TEMPLATE


@dataclass(frozen=True, slots=True)
class TemplateSource:
    """A template copier can render: ``url`` is recorded as ``_src_path``."""

    url: str
    vcs_ref: str | None
    bundled: bool
    copier_yml: Path | None = None


def data_home() -> Path:
    """dlproj's data folder: $DLPROJ_HOME, else $XDG_DATA_HOME/dlproj, else ~/.local/share."""
    if explicit := os.environ.get("DLPROJ_HOME"):
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "dlproj"


def _installed_bundle_path() -> Path:
    return data_home() / "templates" / BUNDLE_FILENAME


def _portable(path: Path) -> str:
    """``~/...`` when under the home folder, so the recorded source is the same for everyone."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return path.as_posix()


def is_bundled(src_path: str) -> bool:
    """True when an answers file's ``_src_path`` names dlproj's installed bundled template."""
    normalized = src_path.replace("\\", "/")
    return normalized.endswith(f"/templates/{BUNDLE_FILENAME}") and "dlproj" in normalized


def _packaged() -> tuple[Path, str, Path] | None:
    """(bundle, ref, copier.yml) shipped inside an installed wheel, if this is one."""
    folder = resources.files("dlproj") / "_bundled"
    meta = folder / f"{DEFAULT_TEMPLATE}.json"
    if not meta.is_file():
        return None
    info = json.loads(meta.read_text(encoding="utf-8"))
    root = Path(str(folder))
    return root / BUNDLE_FILENAME, str(info["ref"]), root / "copier.yml"


def bundled_copier_yml() -> Path:
    """The bundled template's copier.yml, without building or cloning anything."""
    packaged = _packaged()
    return packaged[2] if packaged else _CHECKOUT_TEMPLATE / "copier.yml"


def _install(bundle: Path) -> Path:
    target = _installed_bundle_path()
    data = bundle.read_bytes()
    if target.is_file() and target.read_bytes() == data:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    partial.write_bytes(data)
    partial.replace(target)
    return target


def _checkout_bundle(target: Path) -> str:
    """Build the bundle from a source checkout, reusing the last one while nothing changed."""
    stamp = target.with_name(f"{target.name}.stamp.json")
    key = source_state(_CHECKOUT_TEMPLATE)
    if key and target.is_file() and stamp.is_file():
        saved = json.loads(stamp.read_text(encoding="utf-8"))
        current = target.stat()
        if saved.get("key") == key and saved.get("mtime_ns") == current.st_mtime_ns:
            return str(saved["ref"])
    ref = build_bundle(_CHECKOUT_TEMPLATE, target, previous=target).ref
    written = {"key": key, "ref": ref, "mtime_ns": target.stat().st_mtime_ns}
    partial = stamp.with_name(f".{stamp.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(written), encoding="utf-8")
    partial.replace(stamp)
    return ref


def bundled_source() -> TemplateSource:
    """The template shipped with this dlproj, installed where copier and later updates find it.

    In a wheel the bundle was built from committed history at build time; in a source checkout
    it is built now from the checkout (uncommitted template edits included).
    """
    packaged = _packaged()
    if packaged:
        bundle, ref, copier_yml = packaged
        target = _install(bundle)
    else:
        target = _installed_bundle_path()
        ref = _checkout_bundle(target)
        copier_yml = _CHECKOUT_TEMPLATE / "copier.yml"
    return TemplateSource(url=_portable(target), vcs_ref=ref, bundled=True, copier_yml=copier_yml)
