"""The CLI surface: version, help, options, and user errors as exit codes with one sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.helpers import TEMPLATE_DIR, invoke, snapshot
from tests.unit.test_names import BAD_NAMES


def test_version() -> None:
    from dlproj import __version__

    code, out, _ = invoke("--version")
    assert code == 0
    assert out.strip() == f"dlproj {__version__}"


@pytest.mark.parametrize("command", ["new", "update", "check", "options", "variants"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    code, out, _ = invoke(command, "--help")
    assert code == 0
    assert "Example" in out


def test_options_json_matches_copier_yml() -> None:
    code, out, _ = invoke("options", "--json")
    assert code == 0
    listed = {q["name"]: q for q in json.loads(out)}
    raw = yaml.safe_load((TEMPLATE_DIR / "copier.yml").read_text())
    questions = {k: v for k, v in raw.items() if not k.startswith("_")}
    assert list(listed) == list(questions)
    for name, spec in questions.items():
        assert listed[name]["default"] == spec.get("default")
        assert listed[name]["help"] == spec["help"].strip()
        choices = spec.get("choices") or []
        values = list(choices.values()) if isinstance(choices, dict) else list(choices)
        assert [c["value"] for c in listed[name]["choices"]] == values
        assert listed[name]["when"] == spec.get("when", True)


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_new_with_bad_name_exits_2_and_writes_nothing(name: str, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    code, _, err = invoke("new", "--defaults", "--dst", str(tmp_path), "--", name)
    assert code == 2, err
    assert "Error:" in err
    assert "Traceback" not in err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "item",
    [
        "framework=caffe",
        "tracking=neptune",
        "python_version=2.7",
        "license=WTFPL-9",
        "colour=blue",
        "framework=jax",  # with python_version=3.10 below: an illegal pair
    ],
)
def test_new_with_bad_answer_exits_3_and_writes_nothing(item: str, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    extra = ["--data", "python_version=3.10"] if item == "framework=jax" else []
    code, _, err = invoke("new", "demo", "--defaults", "-o", str(tmp_path), "--data", item, *extra)
    assert code == 3, err
    assert "Traceback" not in err
    assert snapshot(tmp_path) == before


def test_bad_choice_message_lists_valid_choices(tmp_path: Path) -> None:
    _, _, err = invoke(
        "new", "demo", "--defaults", "-o", str(tmp_path), "--data", "framework=caffe"
    )
    assert "pytorch, lightning, tensorflow, jax" in " ".join(err.split())


def test_data_without_equals_exits_2(tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    code, _, err = invoke("new", "demo", "--defaults", "-o", str(tmp_path), "--data", "docker")
    assert code == 2
    assert "KEY=VALUE" in err
    assert snapshot(tmp_path) == before


def test_non_empty_destination_is_refused_without_force(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    code, _, err = invoke("new", "demo", "--defaults", "-o", str(tmp_path))
    assert code == 2
    assert "--force" in err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", ["update", "check"])
def test_update_and_check_outside_a_project_exit_5(command: str, tmp_path: Path) -> None:
    code, _, err = invoke(command, str(tmp_path))
    assert code == 5
    assert "no .copier-answers.yml" in err


def test_destination_under_a_file_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    before = snapshot(tmp_path)
    code, _, err = invoke("new", "demo", "--defaults", "-o", str(blocker / "sub"))
    assert code == 2, err
    assert "choose another --dst" in " ".join(err.split())
    assert snapshot(tmp_path) == before
