"""Project names: refused before anything is written, with one sentence that says why."""

from __future__ import annotations

import pytest

from dlproj.errors import UsageError
from dlproj.names import package_name_for, validate_project_name

BAD_NAMES = {
    "empty": "",
    "keyword": "class",
    "import-keyword": "import",
    "digit-first": "123abc",
    "shadows-torch": "torch",
    "shadows-stdlib": "json",
    "slash": "a/b",
    "parent": "../x",
    "absolute": "/tmp/x",
    "too-long": "a" * 300,
    "non-ascii": "proj\u00e9t",
    "jinja": "{{7*7}}",
    "shell": "x;rm -rf ~",
    "option-like": "-rf",
    "trailing-dash": "demo-",
}


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_bad_names_are_refused_with_one_sentence(name: str) -> None:
    with pytest.raises(UsageError) as info:
        validate_project_name(name)
    message = str(info.value)
    assert message.endswith(".")
    assert "\n" not in message


@pytest.mark.parametrize("name", ["demo", "digit-classifier", "My.Project_2", "a" * 64])
def test_good_names_pass(name: str) -> None:
    assert validate_project_name(name) == name


def test_package_name_is_lower_case_with_underscores() -> None:
    assert package_name_for("My-Digit.Classifier") == "my_digit_classifier"
