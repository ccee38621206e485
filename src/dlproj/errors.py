"""The exceptions dlproj raises for problems a user can cause.

Each carries the exit code of the command-line tool, so the CLI maps errors to codes in one place::

    DlprojError
    ├── UsageError            2  bad NAME or destination, malformed --data
    ├── AnswersError          3  unknown key, value not among the choices, failed validator
    ├── TemplateError         4  source unreachable or invalid
    │   └── TrustError        4  template tasks or migrations need --trust
    ├── UpdateRefusedError    5  dirty tree, not a project, bad answers file, newer template
    ├── ConflictError         6  update finished with conflicts left in files
    └── InstallError          7  `new --install`: the project is made, its set-up or tests failed
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AnswersError",
    "ConflictError",
    "DlprojError",
    "InstallError",
    "TemplateError",
    "TrustError",
    "UpdateRefusedError",
    "UsageError",
]


class DlprojError(Exception):
    """A problem the user can fix; its message says how."""

    exit_code: ClassVar[int] = 1


class UsageError(DlprojError):
    """The command line itself is wrong: a bad name, destination or ``--data`` item."""

    exit_code: ClassVar[int] = 2


class AnswersError(DlprojError):
    """An answer names an unknown question or a value the template does not accept."""

    exit_code: ClassVar[int] = 3


class TemplateError(DlprojError):
    """The template source cannot be reached or is not a valid copier template."""

    exit_code: ClassVar[int] = 4


class TrustError(TemplateError):
    """A third-party template wants to run tasks or migrations and ``--trust`` was not given."""


class UpdateRefusedError(DlprojError):
    """The project cannot be updated as it is; nothing was changed."""

    exit_code: ClassVar[int] = 5


class ConflictError(DlprojError):
    """The update finished but left conflict markers in some files."""

    exit_code: ClassVar[int] = 6

    def __init__(self, message: str, files: list[str]) -> None:
        super().__init__(message)
        self.files = files


class InstallError(DlprojError):
    """``dlproj new --install``: the project was made, but its set-up or its tests failed."""

    exit_code: ClassVar[int] = 7
