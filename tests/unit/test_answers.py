"""Answers: parsed from --data, completed with defaults, validated against copier.yml."""

from __future__ import annotations

import pytest

from dlproj.answers import parse_data_items, resolve_answers, validate_answers
from dlproj.errors import AnswersError, UsageError
from dlproj.options import load_questions
from tests.helpers import TEMPLATE_DIR

QUESTIONS = load_questions(TEMPLATE_DIR / "copier.yml")


def _check(**data: str) -> dict[str, object]:
    answers = resolve_answers(QUESTIONS, {"project_name": "demo", **data})
    validate_answers(QUESTIONS, answers)
    return answers


def test_defaults_are_the_documented_stack() -> None:
    answers = _check()
    assert answers["framework"] == "pytorch"
    assert answers["config_system"] == "hydra"
    assert answers["tracking"] == "tensorboard"
    assert answers["env_manager"] == "uv"
    assert answers["package_name"] == "demo"
    assert answers["docker"] is True


def test_text_values_are_cast_to_the_question_type() -> None:
    answers = _check(docker="false", dvc="yes")
    assert answers["docker"] is False
    assert answers["dvc"] is True


@pytest.mark.parametrize(
    ("key", "value", "listed"),
    [
        ("framework", "caffe", "pytorch, lightning, tensorflow, jax"),
        ("tracking", "neptune", "tensorboard, mlflow, wandb, none"),
        ("python_version", "2.7", "3.11, 3.10, 3.12, 3.13"),
        ("license", "WTFPL-9", "MIT, Apache-2.0, BSD-3-Clause, none"),
    ],
)
def test_bad_choice_lists_the_valid_ones(key: str, value: str, listed: str) -> None:
    with pytest.raises(AnswersError, match=key) as info:
        _check(**{key: value})
    assert listed in str(info.value)


def test_unknown_key_is_refused() -> None:
    with pytest.raises(AnswersError, match="Unknown question 'colour'"):
        _check(colour="blue")


def test_bool_question_refuses_other_text() -> None:
    with pytest.raises(AnswersError, match="true or false"):
        _check(docker="maybe")


def test_validator_drops_jax_on_python_310() -> None:
    with pytest.raises(AnswersError, match=r"JAX needs Python 3\.11"):
        _check(framework="jax", python_version="3.10")


def test_question_not_asked_keeps_its_default() -> None:
    # cluster is asked only with Hydra: copier ignores the answer otherwise, and so do we.
    assert _check(config_system="yaml", cluster="slurm")["cluster"] == "none"


def test_data_items_split_on_the_first_equals_sign() -> None:
    assert parse_data_items(["description=a=b", "docker=true"]) == {
        "description": "a=b",
        "docker": "true",
    }


@pytest.mark.parametrize("item", ["docker", "=true"])
def test_data_item_without_key_or_equals_is_a_usage_error(item: str) -> None:
    with pytest.raises(UsageError):
        parse_data_items([item])
