"""Stage 7, tables: reproduced rows beside the paper's reported rows.

`table1.csv` (paper Table 1): pass@1 (%) on HumanEval, HumanEval+, MBPP, MBPP+; a `source`
column says whether a row was reproduced by this run or reported in the paper (shipped as data in
`data/paper/table1.csv`).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

from .io import read_json

COLUMNS = ["model", "humaneval", "humaneval_plus", "mbpp", "mbpp_plus"]


def reproduced_row(model: str, scores: Mapping[str, str | Path]) -> dict:
    """One row from the `scores.json` of each evaluated benchmark (keys `humaneval`, `mbpp`)."""
    row = {"model": model, "source": "reproduced"}
    sizes = []
    for benchmark in ("humaneval", "mbpp"):
        if benchmark not in scores:
            sizes.append("-")
            continue
        result = read_json(scores[benchmark])
        row[benchmark] = result["pass@1"]["base"]
        row[f"{benchmark}_plus"] = result["pass@1"]["plus"]
        sizes.append(str(result["n_tasks"]))
    row["n_tasks"] = "/".join(sizes)
    return row


def paper_rows(path: str | Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [{**row, "source": "paper", "n_tasks": "164/378"} for row in csv.DictReader(handle)]


def write_table(path: str | Path, rows: list[dict]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*COLUMNS, "source", "n_tasks"])
        writer.writeheader()
        writer.writerows(rows)


TABLE2_COLUMNS = ["model", "java", "js", "cpp", "php", "swift", "rust"]


def table2_row(model: str, scores: Mapping[str, str | Path]) -> dict:
    """pass@1 per MultiPL-E language; a language whose toolchain was missing says `missing`."""
    row = {"model": model, "source": "reproduced"}
    samples = set()
    for language, path in scores.items():
        result = read_json(path)
        row[language] = "missing" if result.get("missing") else result["pass@1"]
        if not result.get("missing"):
            samples.add(str(result["samples_per_task"]))
    row["samples_per_task"] = "/".join(sorted(samples)) or "-"
    return row


def write_table2(path: str | Path, rows: list[dict], paper: str | Path) -> None:
    with open(paper, newline="", encoding="utf-8") as handle:
        reported = [{**row, "source": "paper", "samples_per_task": "50"} for row in csv.DictReader(handle)]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*TABLE2_COLUMNS, "source", "samples_per_task"])
        writer.writeheader()
        writer.writerows(rows + reported)
