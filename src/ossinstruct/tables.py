"""Stage 7, tables: reproduced rows beside the paper's reported rows.

`table1.csv` (paper Table 1): pass@1 (%) on HumanEval, HumanEval+, MBPP, MBPP+; a `source`
column says whether a row was reproduced by this run or reported in the paper (shipped as data in
`data/paper/table1.csv`), `prompt_format` how the model was prompted (`completion`: the task prompt
continued, as the EvalPlus leaderboard ran base models; `magicoder`: the Magicoder template), and
`n_tasks` how many HumanEval/MBPP tasks the row was measured on (the paper: 164/399, MBPP+ v0.1.0).
A paper row also names the paper's table it comes from (`paper_table`: the DeepSeek rows are Table 4's).
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path

from .io import read_json

COLUMNS = [
    "model",
    "humaneval",
    "humaneval_plus",
    "mbpp",
    "mbpp_plus",
    "prompt_format",
    "source",
    "n_tasks",
    "paper_table",
]


def reproduced_row(model: str, scores: Mapping[str, str | Path]) -> dict:
    """One row from the `scores.json` of each evaluated benchmark (keys `humaneval`, `mbpp`)."""
    row = {"model": model, "source": "reproduced", "paper_table": "-"}
    sizes, formats = [], set()
    for benchmark in ("humaneval", "mbpp"):
        if benchmark not in scores:
            sizes.append("-")
            continue
        result = read_json(scores[benchmark])
        row[benchmark] = result["pass@1"]["base"]
        row[f"{benchmark}_plus"] = result["pass@1"]["plus"]
        sizes.append(str(result["n_tasks"]))
        formats.add(result["generation"]["prompt_format"])
    row["n_tasks"] = "/".join(sizes)
    row["prompt_format"] = "/".join(sorted(formats))
    return row


def paper_rows(path: str | Path) -> list[dict]:
    """The paper's rows as shipped, each with what it was measured on (`n_tasks`) and its table."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [{**row, "source": "paper"} for row in csv.DictReader(handle)]


def write_table(path: str | Path, rows: list[dict]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
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


# The paper's other results tables: their columns (pass@1, %), and what each compares.
ABLATION_TABLES = {
    "table4": ["humaneval", "humaneval_plus", "mbpp", "mbpp_plus"],  # DeepSeek-Coder base vs Magicoder-DS
    "table5": ["humaneval_plus", "multipl_e"],  # language ablation: Python-only / other / both
    "table6": ["humaneval_plus", "multipl_e"],  # comment-function pairs vs OSS-Instruct
    "table7": ["humaneval_plus", "mbpp_plus"],  # OSS-Instruct from a weaker, open teacher
    # not the paper's: the execution-validated set (`validate`) vs the unvalidated one
    "table_validated": ["humaneval", "humaneval_plus", "mbpp", "mbpp_plus"],
}
EVALPLUS_COLUMNS = {"humaneval": "humaneval", "humaneval_plus": "humaneval", "mbpp": "mbpp", "mbpp_plus": "mbpp"}


def table_benchmarks(table: str) -> list[str]:
    """The EvalPlus benchmarks a table's columns come from."""
    return list(dict.fromkeys(EVALPLUS_COLUMNS[c] for c in ABLATION_TABLES[table] if c in EVALPLUS_COLUMNS))


def ablation_row(
    table: str,
    model: str,
    data: str,
    evalplus: Mapping[str, str | Path],
    multipl_e: Mapping[str, str | Path],
    train_metrics: str | Path | None = None,
) -> dict:
    """One reproduced row: the model, its fine-tuning data (`-` for a base model) and rows, and each
    column. `multipl_e` is the mean greedy pass@1 over the languages whose toolchain was present;
    `multipl_e_languages` names them, so that an average over fewer than the paper's six shows."""
    row = {"model": model, "data": data, "source": "reproduced"}
    row["training_rows"] = read_json(train_metrics)["rows"] if train_metrics else "-"
    for column in ABLATION_TABLES[table]:
        if column == "multipl_e":
            results = {language: read_json(path) for language, path in multipl_e.items()}
            present = sorted(language for language, result in results.items() if not result.get("missing"))
            mean = sum(results[language]["pass@1"] for language in present) / len(present) if present else None
            row["multipl_e"] = round(mean, 1) if present else "missing"
            row["multipl_e_languages"] = " ".join(present) or "-"
        else:
            result = read_json(evalplus[EVALPLUS_COLUMNS[column]])
            row[column] = result["pass@1"]["plus" if column.endswith("_plus") else "base"]
            row["prompt_format"] = result["generation"]["prompt_format"]
    return row


def write_ablation_table(table: str, path: str | Path, rows: list[dict], paper: str | Path | None) -> None:
    """Reproduced rows, then the paper's (`data/paper/<table>.csv`; a cell the paper does not give is
    empty; no file: a table of ours, with no reported rows)."""
    reported = []
    if paper:
        with open(paper, newline="", encoding="utf-8") as handle:
            reported = [{**row, "source": "paper"} for row in csv.DictReader(handle)]
    columns = ["model", "data", "training_rows", "prompt_format", *ABLATION_TABLES[table]]
    if "multipl_e" in columns:
        columns.append("multipl_e_languages")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*columns, "source"], restval="")
        writer.writeheader()
        writer.writerows(rows + reported)


def by_model(paths: Sequence[str], models: Sequence[str], columns: Sequence[str]) -> dict[str, dict[str, str]]:
    """The rule's score files (`expand` order: each model, then each benchmark or language) by model
    and column; each file must say it holds that model's and column's scores where it records them."""
    if len(paths) != len(models) * len(columns):
        raise ValueError(f"{len(paths)} score files for {len(models)} models x {len(columns)} columns")
    grouped: dict[str, dict[str, str]] = {}
    for path, (model, column) in zip(paths, itertools.product(models, columns), strict=True):
        recorded = read_json(path)
        for key, expected in (("model", model), ("benchmark", column), ("language", column)):
            if key in recorded and recorded[key] != expected:
                raise ValueError(f"{path}: holds {key} {recorded[key]!r}, expected {expected!r}")
        grouped.setdefault(model, {})[column] = str(path)
    return grouped


def run_table1(*, scores: dict[str, dict[str, str]], paper: str, output: str) -> None:
    rows = [reproduced_row(model, by_benchmark) for model, by_benchmark in scores.items()]
    write_table(output, rows + paper_rows(paper))


def run_table2(*, scores: dict[str, dict[str, str]], paper: str, output: str) -> None:
    write_table2(output, [table2_row(model, by_language) for model, by_language in scores.items()], paper)


def run_ablation_table(*, table: str, rows: list[dict], paper: str | None, output: str) -> None:
    """Tables 4-7: each model's row from its scores (and its training record), then the paper's."""
    reproduced = [
        ablation_row(table, row["model"], row["data"], row["evalplus"], row["multipl_e"], row["train_metrics"])
        for row in rows
    ]
    write_ablation_table(table, output, reproduced, paper)
