"""Tables 4-7: reproduced rows from real score files in the formats the stages write, then the paper's."""

import csv

from ossinstruct.io import write_json
from ossinstruct.tables import ablation_row, table_benchmarks, write_ablation_table


def test_an_ablation_row_averages_the_present_languages_and_names_them(tmp_path, root):
    write_json(
        tmp_path / "he.json",
        {"pass@1": {"base": 40.0, "plus": 35.5}, "n_tasks": 164, "generation": {"prompt_format": "magicoder"}},
    )
    write_json(tmp_path / "js.json", {"language": "js", "pass@1": 30.0, "n_tasks": 161, "samples_per_task": 1})
    write_json(tmp_path / "cpp.json", {"language": "cpp", "pass@1": 25.0, "n_tasks": 161, "samples_per_task": 1})
    write_json(tmp_path / "swift.json", {"language": "swift", "missing": "no swiftc", "pass@1": None})
    write_json(tmp_path / "train.json", {"rows": 43000})
    multipl_e = {language: tmp_path / f"{language}.json" for language in ("js", "cpp", "swift")}
    row = ablation_row(
        "table5", "run", "oss-instruct-python", {"humaneval": tmp_path / "he.json"}, multipl_e, tmp_path / "train.json"
    )
    assert row["humaneval_plus"] == 35.5 and row["training_rows"] == 43000
    assert row["multipl_e"] == 27.5 and row["multipl_e_languages"] == "cpp js"  # swift: missing, not a zero
    base = ablation_row("table5", "base", "-", {"humaneval": tmp_path / "he.json"}, {"swift": multipl_e["swift"]})
    assert base["multipl_e"] == "missing" and base["training_rows"] == "-"

    write_ablation_table("table5", tmp_path / "table5.csv", [row, base], root / "data/paper/table5.csv")
    with open(tmp_path / "table5.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [r["source"] for r in table] == ["reproduced", "reproduced", "paper", "paper", "paper", "paper"]
    assert table[2]["model"] == "CodeLlama-Python-7B" and table[2]["multipl_e"] == "29.6"
    assert table[3]["humaneval_plus"] == ""  # a cell the shipped paper text does not give stays empty


def test_each_table_reads_the_benchmarks_of_its_columns():
    assert table_benchmarks("table4") == ["humaneval", "mbpp"]
    assert table_benchmarks("table5") == table_benchmarks("table6") == ["humaneval"]
    assert table_benchmarks("table7") == ["humaneval", "mbpp"]


def test_table1_paper_rows_say_what_the_paper_measured_and_where_they_come_from(tmp_path, root):
    """The paper's rows measured 164 HumanEval+ and 399 MBPP+ (v0.1.0) tasks; the DeepSeek rows are its
    Table 4's; each row shows its prompt format, ours from the scores."""
    from ossinstruct.tables import reproduced_row, write_table

    for benchmark, n in (("humaneval", 164), ("mbpp", 399)):
        write_json(
            tmp_path / f"{benchmark}.json",
            {"pass@1": {"base": 10.0, "plus": 5.0}, "n_tasks": n, "generation": {"prompt_format": "completion"}},
        )
    ours = reproduced_row("base", {b: tmp_path / f"{b}.json" for b in ("humaneval", "mbpp")})
    write_table(tmp_path / "table1.csv", [ours], root / "data/paper/table1.csv")
    with open(tmp_path / "table1.csv", newline="") as handle:
        rows = {row["model"]: row for row in csv.DictReader(handle)}
    assert rows["base"]["prompt_format"] == "completion" and rows["base"]["n_tasks"] == "164/399"
    assert rows["CodeLlama-Python-7B"]["prompt_format"] == "completion"
    assert rows["Magicoder-CL-7B"]["prompt_format"] == "magicoder"
    assert {row["n_tasks"] for name, row in rows.items() if name != "base"} == {"164/399"}
    assert [name for name, row in rows.items() if row["paper_table"] == "4"] == [
        "DeepSeek-Coder-Base-6.7B",
        "Magicoder-DS-6.7B",
        "MagicoderS-DS-6.7B",
    ]


def scores(folder, model, he, mbpp, prompt_format="magicoder"):
    for benchmark, (base, plus), n in (("humaneval", he, 164), ("mbpp", mbpp, 399)):
        write_json(
            folder / model / benchmark / "scores.json",
            {"pass@1": {"base": base, "plus": plus}, "n_tasks": n, "generation": {"prompt_format": prompt_format}},
        )


def test_table1_is_a_data_frame_written_in_the_csv_modules_dialect(tmp_path, root):
    """The frame's CSV: the reproduced rows then the paper's, numbers as Python writes them, an empty
    cell for what a row does not have, `\\r\\n` line ends: byte for byte what the csv module wrote."""
    from ossinstruct.tables import run_table1

    scores(tmp_path / "eval", "a model, quoted", (0.0, 0.0), (6.27, 5.51), "completion")
    run_table1(
        scores={
            "a model, quoted": {
                b: str(tmp_path / f"eval/a model, quoted/{b}/scores.json") for b in ("humaneval", "mbpp")
            }
        },
        paper=str(root / "data/paper/table1.csv"),
        output=str(tmp_path / "table1.csv"),
    )
    written = (tmp_path / "table1.csv").read_bytes()
    lines = written.split(b"\r\n")
    assert lines[0] == b"model,humaneval,humaneval_plus,mbpp,mbpp_plus,prompt_format,source,n_tasks,paper_table"
    assert lines[1] == b'"a model, quoted",0.0,0.0,6.27,5.51,completion,reproduced,164/399,-'
    paper = (root / "data/paper/table1.csv").read_bytes().replace(b"\r\n", b"\n").split(b"\n")
    assert len(lines) == 2 + len([line for line in paper[1:] if line]) + 1 and lines[-1] == b""
    assert all(line.count(b",") >= 8 for line in lines[2:-1]) and b"\n" not in written.replace(b"\r\n", b"")


def test_two_runs_compare_side_by_side_with_the_difference(tmp_path, capsys):
    """`ossinstruct tables --compare A B`: each model and benchmark both runs scored, B minus A."""
    from ossinstruct.cli import main
    from ossinstruct.tables import compare_runs

    scores(tmp_path / "a", "m", (10.0, 8.5), (40.0, 30.0))
    scores(tmp_path / "a", "only-in-a", (1.0, 1.0), (1.0, 1.0))
    scores(tmp_path / "b", "m", (12.5, 8.0), (40.0, 31.25))
    table = compare_runs(tmp_path / "a", tmp_path / "b")
    assert list(table["model"]) == ["m"] * 4
    assert list(table["benchmark"]) == ["humaneval", "humaneval_plus", "mbpp", "mbpp_plus"]
    assert list(table["a"]) == [10.0, 8.5, 40.0, 30.0] and list(table["b"]) == [12.5, 8.0, 40.0, 31.25]
    assert list(table["difference"]) == [2.5, -0.5, 0.0, 1.25]
    # one model's folder each: the two models compared under both names
    pair = compare_runs(tmp_path / "a" / "m", tmp_path / "a" / "only-in-a")
    assert set(pair["model"]) == {"m vs only-in-a"} and list(pair["difference"]) == [-9.0, -7.5, -39.0, -29.0]
    assert (
        main(["tables", "--compare", str(tmp_path / "a"), str(tmp_path / "b"), "--output", str(tmp_path / "c.csv")])
        == 0
    )
    assert "humaneval_plus" in capsys.readouterr().out
    assert (tmp_path / "c.csv").read_text().splitlines()[1] == "m,humaneval,10.0,12.5,2.5,magicoder,magicoder"
    assert main(["tables", "--compare", str(tmp_path / "a"), str(tmp_path / "none")]) == 2


def test_pandas_is_imported_where_tables_are_made_and_in_the_data_study_only(root):
    importing = sorted(
        str(path.relative_to(root / "src" / "ossinstruct"))
        for path in (root / "src" / "ossinstruct").rglob("*.py")
        if "import pandas" in path.read_text(encoding="utf-8")
    )
    assert importing == ["analysis.py", "tables.py"]
