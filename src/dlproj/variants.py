"""The answer sets dlproj's checks render: every value of every question, plus all pairs.

A template with a dozen questions has thousands of combinations. Rendering each value once
catches files that break alone; a pairwise covering set (allpairspy) catches files that break
only with another choice, in tens of renders. Illegal combinations are dropped by the same
validation the CLI uses, so the matrix never checks what a user cannot ask for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .answers import resolve_answers, validate_answers
from .errors import AnswersError
from .options import Question

__all__ = ["Variant", "build_variants"]

PROJECT_NAME = "variant-project"


@dataclass(frozen=True, slots=True)
class Variant:
    """One answer set: ``answers`` holds every asked choice, ``id`` its non-default values."""

    id: str
    answers: dict[str, Any]

    def describe(self) -> str:
        """``key=value`` pairs of the whole answer set, for people."""
        return " ".join(f"{k}={v}" for k, v in self.answers.items())


def _axes(questions: Sequence[Question]) -> list[Question]:
    return [q for q in questions if q.values and not q.derived]


def _resolve_legal(questions: Sequence[Question], data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The full answers for ``data``, or None if the CLI would refuse or ignore part of it."""
    try:
        answers = resolve_answers(tuple(questions), {"project_name": PROJECT_NAME, **data})
        validate_answers(tuple(questions), answers)
    except AnswersError:
        return None
    # A question that is not asked takes its default: asking for another value is illegal.
    if any(answers[key] != value for key, value in data.items()):
        return None
    return answers


def _variant_id(
    answers: Mapping[str, Any], defaults: Mapping[str, Any], axes: list[Question]
) -> str:
    parts = []
    for q in axes:
        value = answers[q.name]
        if value != defaults[q.name]:
            parts.append(f"{q.name}={value}")
    return ",".join(parts) or "defaults"


def build_variants(questions: Sequence[Question]) -> tuple[Variant, ...]:
    """Every value of every choice/bool question, then an all-pairs cover, de-duplicated."""
    from allpairspy import AllPairs

    axes = _axes(questions)
    names = [q.name for q in axes]
    defaults = _resolve_legal(questions, {})
    assert defaults is not None, "the template's defaults must be a legal answer set"

    candidates: list[dict[str, Any]] = [{}]
    for q in axes:
        candidates.extend({q.name: value} for value in q.values if value != defaults[q.name])

    def legal(row: list[Any]) -> bool:
        return _resolve_legal(questions, dict(zip(names, row, strict=False))) is not None

    candidates.extend(
        dict(zip(names, row, strict=True))
        for row in AllPairs([list(q.values) for q in axes], filter_func=legal)
    )

    seen: set[tuple[Any, ...]] = set()
    found: list[Variant] = []
    for data in candidates:
        answers = _resolve_legal(questions, data)
        if answers is None:
            continue
        chosen = {name: answers[name] for name in names}
        key = tuple(chosen.values())
        if key in seen:
            continue
        seen.add(key)
        found.append(Variant(id=_variant_id(answers, defaults, axes), answers=chosen))
    return tuple(found)
