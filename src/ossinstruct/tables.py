"""Stage 7, tables: reproduced rows beside the paper's reported rows.

`table1.csv` (paper Table 1): pass@1 (%) on HumanEval, HumanEval+, MBPP, MBPP+; a `source`
column says whether a row was reproduced by this run or reported in the paper (shipped as data in
`data/paper/table1.csv`), `prompt_format` how the model was prompted (`completion`: the task prompt
continued, as the EvalPlus leaderboard ran base models; `magicoder`: the Magicoder template), and
`n_tasks` how many HumanEval/MBPP tasks the row was measured on (the paper: 164/399, MBPP+ v0.1.0).
A paper row also names the paper's table it comes from (`paper_table`: the DeepSeek rows are Table 4's).

Each table is a pandas data frame: the reproduced rows (one per model, from its score files), the
paper's rows read from `data/paper/`, joined into one frame in the table's columns, then written
with `to_csv` (the csv module's dialect: `\r\n` line ends, minimal quoting, an absent cell empty).
`compare_runs` puts two runs' scores side by side (`ossinstruct tables --compare A B`).
"""

from __future__ import annotations

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


def frame(rows: Sequence[dict], columns: Sequence[str]):
    """`rows` as a data frame in `columns`, each value kept as given (a cell a row lacks is empty)."""
    import pandas as pd

    return pd.DataFrame(list(rows), columns=list(columns), dtype=object)


def paper_frame(path: str | Path, **constant: str):
    """The paper's rows as shipped (`data/paper/<table>.csv`, every cell its text), with `source`
    `paper` and any `constant` columns."""
    import pandas as pd

    reported = pd.read_csv(path, dtype=str, keep_default_na=False)
    return reported.assign(source="paper", **constant)


def write_frame(path: str | Path, reproduced, reported, columns: Sequence[str]) -> None:
    """The reproduced rows, then the reported ones, in `columns`, as a CSV file."""
    import pandas as pd

    table = pd.concat([reproduced, reported.reindex(columns=list(columns))], ignore_index=True)[list(columns)]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, lineterminator="\r\n")


def paper_rows(path: str | Path) -> list[dict]:
    """The paper's rows as shipped, each with what it was measured on (`n_tasks`) and its table."""
    return paper_frame(path).to_dict("records")


def write_table(path: str | Path, rows: list[dict], paper: str | Path) -> None:
    """Table 1: the reproduced rows beside the paper's."""
    write_frame(path, frame(rows, COLUMNS), paper_frame(paper), COLUMNS)


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
    columns = [*TABLE2_COLUMNS, "source", "samples_per_task"]
    write_frame(path, frame(rows, columns), paper_frame(paper, samples_per_task="50"), columns)


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
    columns = ["model", "data", "training_rows", "prompt_format", *ABLATION_TABLES[table]]
    if "multipl_e" in columns:
        columns.append("multipl_e_languages")
    columns.append("source")
    write_frame(path, frame(rows, columns), paper_frame(paper) if paper else frame([], columns), columns)


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
    write_table(output, [reproduced_row(model, by_benchmark) for model, by_benchmark in scores.items()], paper)


def run_table2(*, scores: dict[str, dict[str, str]], paper: str, output: str) -> None:
    write_table2(output, [table2_row(model, by_language) for model, by_language in scores.items()], paper)


def run_ablation_table(*, table: str, rows: list[dict], paper: str | None, output: str) -> None:
    """Tables 4-7: each model's row from its scores (and its training record), then the paper's."""
    reproduced = [
        ablation_row(table, row["model"], row["data"], row["evalplus"], row["multipl_e"], row["train_metrics"])
        for row in rows
    ]
    write_ablation_table(table, output, reproduced, paper)


BENCHMARK_ORDER = {"humaneval": 0, "humaneval_plus": 1, "mbpp": 2, "mbpp_plus": 3}  # Table 1's columns


def scores_of_run(folder: str | Path) -> dict[str, dict[str, str]]:
    """A run's EvalPlus score files by model and benchmark: `<folder>/<model>/<benchmark>/scores.json`
    (`results/eval`), or `<folder>/<benchmark>/scores.json` for one model's folder."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder (a run's results/eval, or one model's folder in it)")
    own = sorted(root.glob("*/scores.json"))
    if own:
        return {root.name: {path.parent.name: str(path) for path in own}}
    return {
        model.name: {path.parent.name: str(path) for path in sorted(model.glob("*/scores.json"))}
        for model in sorted(root.iterdir())
        if model.is_dir() and any(model.glob("*/scores.json"))
    }


def compare_runs(first: str | Path, second: str | Path):
    """Two runs' pass@1 side by side: one row per model and benchmark column both runs scored (a model
    of one run alone is compared with the other run's only model), with each run's score and the
    difference (second minus first), in points."""
    import pandas as pd

    def long(folder) -> pd.DataFrame:
        rows = [reproduced_row(model, by_benchmark) for model, by_benchmark in scores_of_run(folder).items()]
        wide = frame(rows, ["model", *BENCHMARK_ORDER, "prompt_format"])
        melted = wide.melt(id_vars=["model", "prompt_format"], value_vars=list(BENCHMARK_ORDER), var_name="benchmark")
        return melted.dropna(subset=["value"])

    a, b = long(first), long(second)
    if a.empty or b.empty:
        raise ValueError(f"no scores.json under {first if a.empty else second}")
    keys = ["model", "benchmark"]
    if set(a["model"]).isdisjoint(b["model"]) and a["model"].nunique() == b["model"].nunique() == 1:
        pair = f"{a['model'].iloc[0]} vs {b['model'].iloc[0]}"  # one model each, under two names: compare them
        a, b = a.assign(model=pair), b.assign(model=pair)
    joined = a.merge(b, on=keys, how="inner", suffixes=("_a", "_b"))
    if joined.empty:
        raise ValueError(f"{first} and {second} share no model and benchmark")
    joined = joined.rename(columns={"value_a": "a", "value_b": "b"})
    joined["a"], joined["b"] = joined["a"].astype(float), joined["b"].astype(float)
    joined["difference"] = (joined["b"] - joined["a"]).round(2)
    order = {model: i for i, model in enumerate(dict.fromkeys(a["model"]))}
    joined = joined.sort_values(
        ["model", "benchmark"],
        key=lambda column: column.map(order) if column.name == "model" else column.map(BENCHMARK_ORDER),
    )
    return joined[["model", "benchmark", "a", "b", "difference", "prompt_format_a", "prompt_format_b"]].reset_index(
        drop=True
    )
