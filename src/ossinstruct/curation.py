"""The audit of one teacher's curation (paper §2.1): every step's counts, checked to add up, in one report."""

from __future__ import annotations

from .io import read_json, write_json


def run(*, step_reports: list[str], output: str) -> None:
    """The audit of one teacher's curation: every step's counts, checked to add up."""
    steps = [read_json(path) for path in step_reports]
    for before, after in zip(steps, steps[1:], strict=False):
        if before["rows_out"] != after["rows_in"]:
            raise ValueError(
                f"curation counts do not chain: {before['step']} out {before['rows_out']} "
                f"!= {after['step']} in {after['rows_in']}"
            )
    for step in steps:
        if step["rows_in"] != step["rows_out"] + sum(step["dropped_by_reason"].values()):
            raise ValueError(f"curation step {step['step']}: rows in != rows out + dropped")
    write_json(output, {"rows_in": steps[0]["rows_in"], "rows_out": steps[-1]["rows_out"], "steps": steps})
