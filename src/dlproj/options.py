"""The template's questions, read from its ``copier.yml``: the one source of truth for choices.

Nothing here restates a choice: ``dlproj options``, answer validation and the variant matrix all
read the :class:`Question` objects this module builds from the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import TemplateError

__all__ = ["Choice", "Question", "load_questions"]


@dataclass(frozen=True, slots=True)
class Choice:
    """One allowed value of a question, with the label copier shows for it."""

    label: str
    value: Any


@dataclass(frozen=True, slots=True)
class Question:
    """One copier question. ``default``, ``when`` and ``validator`` keep copier's raw Jinja text."""

    name: str
    type: str
    help: str
    default: Any
    choices: tuple[Choice, ...] = ()
    when: str | bool = True
    validator: str | None = None
    secret: bool = False

    @property
    def derived(self) -> bool:
        """True for values computed from other answers and never asked (copier ``when: false``)."""
        return self.when is False

    @property
    def values(self) -> tuple[Any, ...]:
        """The values a choice or bool question accepts; empty for free text."""
        if self.type == "bool":
            return (True, False)
        return tuple(choice.value for choice in self.choices)

    def to_json(self) -> dict[str, Any]:
        """A plain dict for ``dlproj options --json``."""
        return {
            "name": self.name,
            "type": self.type,
            "help": self.help,
            "default": self.default,
            "choices": [{"label": c.label, "value": c.value} for c in self.choices],
            "when": self.when,
            "validator": self.validator,
            "derived": self.derived,
        }


def _choices(raw: Any) -> tuple[Choice, ...]:
    if raw is None:
        return ()
    if isinstance(raw, dict):
        return tuple(Choice(str(label), value) for label, value in raw.items())
    return tuple(Choice(str(value), value) for value in raw)


def _question(name: str, spec: Any) -> Question:
    if not isinstance(spec, dict):
        # copier's short form `name: default` declares a str question with that default.
        return Question(name=name, type="str", help="", default=spec)
    validator = spec.get("validator")
    return Question(
        name=name,
        type=str(spec.get("type", "yaml" if "choices" in spec else "str")),
        help=str(spec.get("help", "")).strip(),
        default=spec.get("default"),
        choices=_choices(spec.get("choices")),
        when=spec.get("when", True),
        validator=str(validator).strip() if validator else None,
        secret=bool(spec.get("secret", False)),
    )


def load_questions(copier_yml: Path) -> tuple[Question, ...]:
    """Read every question of a template, in the order copier asks them.

    Raises:
        TemplateError: the file is missing or is not a mapping of questions.
    """
    try:
        # libyaml's loader when present: copier.yml is read on every command.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(copier_yml.read_text(encoding="utf-8"), Loader=loader)
    except (OSError, yaml.YAMLError) as err:
        raise TemplateError(
            f"Cannot read the template's questions from {copier_yml}: {err}"
        ) from err
    if not isinstance(data, dict):
        raise TemplateError(f"{copier_yml} is not a copier configuration (expected a mapping).")
    return tuple(_question(name, spec) for name, spec in data.items() if not name.startswith("_"))
