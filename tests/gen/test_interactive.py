"""`dlproj new` on a real terminal: copier's questions answered by keystroke in a pseudo-terminal.

The questions are read from copier.yml (their help text is what copier shows), so the test
follows the template's order and conditions instead of restating them. It types a description,
picks a non-default framework with the arrow keys, accepts every other default with Enter, waits
for the summary, and checks the answers file.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from dlproj.options import Question, load_questions
from tests.helpers import TEMPLATE_DIR

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.gen

DOWN, ENTER, CLEAR_LINE = "\x1b[B", "\r", "\x15"  # arrow down, Enter, Ctrl-U
TYPED = {"description": "Digits, typed in a pseudo-terminal"}
PICKED = {"framework": "lightning"}
SUMMARY = "Next:"
SETTLE = 0.3  # seconds for prompt_toolkit to start reading keys once a prompt is drawn


def _dlproj() -> str:
    beside = Path(sys.executable).parent / "dlproj"
    found = str(beside) if beside.is_file() else shutil.which("dlproj")
    assert found, "dlproj is not installed: pip install -e ."
    return found


def _ready_marker(question: Question) -> str:
    """Text drawn once the prompt for ``question`` is on screen and waiting for keys."""
    if question.choices:
        return re.escape("(Use arrow keys)")
    if question.type == "bool":
        return r"\(([yY]/[nN])\)"
    return re.escape(str(question.default))


def _answer(child: Any, question: Question) -> None:
    child.expect(_ready_marker(question))
    time.sleep(SETTLE)
    if question.name in TYPED:
        child.send(CLEAR_LINE)  # the default is pre-filled: replace it
        child.send(TYPED[question.name])
    elif question.name in PICKED:
        values = list(question.values)
        steps = values.index(PICKED[question.name]) - values.index(question.default)
        assert steps > 0, "pick a choice listed after the default"
        for _ in range(steps):
            child.send(DOWN)
            time.sleep(0.05)
    child.send(ENTER)


def test_new_answers_questions_by_keystroke(tmp_path: Path, dlproj_home: Path) -> None:
    questions = [q for q in load_questions(TEMPLATE_DIR / "copier.yml") if q.help and not q.derived]
    asked = [q for q in questions if q.name != "project_name"]  # given as NAME
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "DLPROJ_HOME": str(dlproj_home),
        "PROMPT_TOOLKIT_NO_CPR": "1",  # no cursor-position round trip to wait on
        "COLUMNS": "120",
        "LINES": "40",
    }
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        _dlproj(),
        ["new", "pty-demo", "-o", str(tmp_path), "--no-git"],
        env=env,
        dimensions=(40, 120),
        encoding="utf-8",
        timeout=90,
    )
    log = tmp_path / "terminal.log"
    with log.open("w", encoding="utf-8") as transcript:
        child.logfile_read = transcript
        try:
            answered: set[str] = set()
            patterns = [re.escape(q.help) for q in asked] + [re.escape(SUMMARY), pexpect.EOF]
            while True:
                index = child.expect(patterns)
                if index >= len(asked):
                    break
                question = asked[index]
                if question.name in answered:
                    continue  # copier redraws an answered question with its answer
                _answer(child, question)
                answered.add(question.name)
            child.expect(pexpect.EOF)
        finally:
            child.close()
    transcript_text = log.read_text(encoding="utf-8")
    assert child.exitstatus == 0, transcript_text[-3000:]
    assert {"description", "framework"} <= answered
    assert SUMMARY in transcript_text

    answers = yaml.safe_load((tmp_path / "pty-demo" / ".copier-answers.yml").read_text())
    assert answers["project_name"] == "pty-demo"
    assert answers["description"] == TYPED["description"]
    assert answers["framework"] == "lightning"
    for question in asked:
        if question.name not in {*TYPED, *PICKED} and question.name in answers:
            assert answers[question.name] == question.default, question.name
