"""Wheel build hook: pack the bundled template's release history into the wheel.

The template is handed to copier as a git source (so projects record ``_commit`` and can be
updated later), so the wheel carries a git bundle built from this repository's history of
``templates/default`` plus the commit to render, instead of loose template files.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Adds dlproj/_bundled/{default.bundle,default.json,copier.yml} to regular wheels."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return  # an editable install builds the bundle from the checkout at run time
        sys.path.insert(0, str(Path(self.root) / "src"))
        from dlproj.bundle import build_bundle

        template = Path(self.root) / "templates" / "default"
        self._scratch = Path(tempfile.mkdtemp(prefix="dlproj-wheel-"))
        bundle = self._scratch / "default.bundle"
        info = build_bundle(template, bundle)
        meta = self._scratch / "default.json"
        meta.write_text(json.dumps({"ref": info.ref, "tags": list(info.tags), "dirty": info.dirty}))
        shutil.copy2(template / "copier.yml", self._scratch / "copier.yml")
        for name in ("default.bundle", "default.json", "copier.yml"):
            build_data["force_include"][str(self._scratch / name)] = f"dlproj/_bundled/{name}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
