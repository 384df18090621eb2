"""What can go wrong with the teacher, as exceptions the command line and the workflow report in one line."""

from __future__ import annotations


class TeacherError(RuntimeError):
    pass


class TeacherFailures(TeacherError):
    """Too many requests failed after their retries; `report` lists each one with its cause."""

    def __init__(self, message: str, report: dict) -> None:
        super().__init__(message)
        self.report = report


class SpendingCapReached(TeacherFailures):
    """The job stopped before a request could pass `teacher.max_cost_usd` or `teacher.max_requests`."""


class FatalTeacherError(TeacherError):
    """An answer that retrying cannot fix for any request (a rejected key, an unknown model)."""


class MalformedAnswer(ValueError):
    pass
