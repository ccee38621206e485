"""dlproj's docs stay true: generated pages match their sources, and every page is in the nav."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from dlproj.errors import DlprojError

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs"


def _gen_pages() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_pages", DOCS / "gen_pages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _nav_pages(nav: list[Any]) -> set[str]:
    pages: set[str] = set()
    for entry in nav:
        for value in entry.values() if isinstance(entry, dict) else [entry]:
            pages |= _nav_pages(value) if isinstance(value, list) else {value}
    return pages


def _subclasses(cls: type[DlprojError]) -> set[type[DlprojError]]:
    found = {cls}
    for direct in cls.__subclasses__():
        found |= _subclasses(direct)
    return found


def test_generated_pages_are_up_to_date() -> None:
    stale = _gen_pages().stale_pages()
    assert not stale, f"stale docs pages {stale}: run python docs/gen_pages.py"


def test_options_page_lists_every_choice_of_copier_yml() -> None:
    page = (DOCS / "options.md").read_text(encoding="utf-8")
    copier_yml = yaml.safe_load((REPO_ROOT / "templates/default/copier.yml").read_text())
    for name, spec in copier_yml.items():
        if name.startswith("_") or not isinstance(spec, dict):
            continue
        assert f"`{name}`" in page
        choices = spec.get("choices") or []
        values = choices.values() if isinstance(choices, dict) else choices
        for value in values:
            assert f"`{value}`" in page, f"{name}={value} missing from docs/options.md"


def test_every_page_is_in_the_nav() -> None:
    config = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["docs_dir"] == "docs"
    on_disk = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert _nav_pages(config["nav"]) == on_disk


def test_exit_codes_page_covers_every_error() -> None:
    page = (DOCS / "exit-codes.md").read_text(encoding="utf-8")
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", page, flags=re.MULTILINE)}
    raised = {cls.exit_code for cls in _subclasses(DlprojError) if cls is not DlprojError}
    assert raised <= documented
    assert {0, 1, 130} <= documented
