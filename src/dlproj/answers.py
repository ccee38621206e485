"""Answers to the template's questions: parsed from ``--data``, completed, and validated.

Validation follows copier's own rules (choices, types, ``when`` and Jinja ``validator`` text from
copier.yml) so that a bad answer is refused before anything is written, and so that the variant
matrix drops exactly the combinations the CLI would refuse.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

from .errors import AnswersError, UsageError
from .options import Question

__all__ = ["parse_data_items", "resolve_answers", "validate_answers"]

_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}


def _regex_search(value: Any, pattern: str) -> str | None:
    """The ``regex_search`` filter copier.yml validators use (from jinja2-ansible-filters)."""
    match = re.search(pattern, str(value))
    return match.group(0) if match else None


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment()
    env.filters["regex_search"] = _regex_search
    return env


_ENV = _environment()


@functools.cache
def _compiled(text: str) -> Template:
    # Validators and defaults are few and rendered for every answer set: compile each once.
    return _ENV.from_string(text)


def _render(text: str, context: Mapping[str, Any]) -> str:
    return _compiled(text).render(**context).strip()


def parse_data_items(items: Iterable[str]) -> dict[str, str]:
    """Split repeated ``--data KEY=VALUE`` options into a dict (values stay text for now).

    Raises:
        UsageError: an item has no ``=`` or an empty key.
    """
    data: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--data expects KEY=VALUE, got {item!r}.")
        data[key.strip()] = value
    return data


def _cast(question: Question, value: Any) -> Any:
    """Turn command-line text into the question's type, as copier would."""
    if not isinstance(value, str):
        return value
    if question.type == "bool":
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise AnswersError(f"'{question.name}' is a yes/no question: answer true or false.")
    if question.type == "int":
        try:
            return int(value)
        except ValueError as err:
            raise AnswersError(f"'{question.name}' needs a whole number, got {value!r}.") from err
    if question.type in {"yaml", "json"} and not question.choices:
        return yaml.safe_load(value)
    return value


def _asked(question: Question, context: Mapping[str, Any]) -> bool:
    when = question.when
    if isinstance(when, bool):
        return when
    return _render(str(when), context).lower() not in {"false", "no", "0", "", "none"}


def _default(question: Question, context: Mapping[str, Any]) -> Any:
    default = question.default
    if isinstance(default, str) and ("{{" in default or "{%" in default):
        return _cast(question, _render(default, context))
    return default


def resolve_answers(questions: tuple[Question, ...], data: Mapping[str, Any]) -> dict[str, Any]:
    """Complete ``data`` with defaults, in question order, as copier does with ``--defaults``.

    A question that is not asked (its ``when`` is false) takes its default, whatever ``data`` says,
    exactly like copier.

    Raises:
        AnswersError: a key names no question, or a value has the wrong type.
    """
    known = {q.name for q in questions}
    unknown = sorted(set(data) - known)
    if unknown:
        raise AnswersError(
            f"Unknown question {', '.join(map(repr, unknown))}: the template asks "
            f"{', '.join(q.name for q in questions if not q.derived)}."
        )
    answers: dict[str, Any] = {}
    for question in questions:
        if question.name in data and _asked(question, answers):
            answers[question.name] = _cast(question, data[question.name])
        else:
            answers[question.name] = _default(question, answers)
    return answers


def validate_answers(questions: tuple[Question, ...], answers: Mapping[str, Any]) -> None:
    """Check every answer against its choices and validator.

    Raises:
        AnswersError: one sentence naming the question and listing what it accepts.
    """
    for question in questions:
        value = answers.get(question.name)
        if question.choices and value not in question.values:
            valid = ", ".join(str(v) for v in question.values)
            raise AnswersError(
                f"{value!r} is not a valid answer for '{question.name}': choose one of {valid}."
            )
        if question.validator:
            message = _render(question.validator, answers)
            if message:
                raise AnswersError(f"Invalid answer for '{question.name}': {message}")
