"""The explorer's databases, pages, metadata and server, on small real inputs: rows run through the
real curation steps (parse, clean, decontaminate against the shipped HumanEval), a real answer cache,
Datasette started as `ossinstruct explore` starts it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from ossinstruct.benchmark_strings import load_benchmark_strings
from ossinstruct.clean import clean_pairs
from ossinstruct.decontaminate import decontaminate
from ossinstruct.evaluate.prompts import build_prompt, load_tasks
from ossinstruct.explore.database import curation_steps, run_eval, run_teacher, write_database
from ossinstruct.explore.journey import journey_rows
from ossinstruct.explore.metadata import explorer_metadata
from ossinstruct.io import read_jsonl, write_json, write_jsonl
from ossinstruct.server import free_port
from ossinstruct.teacher.cache import ResponseCache

ROOT = Path(__file__).resolve().parents[2]
HUMANEVAL = ROOT / "data/benchmarks/HumanEval.jsonl.gz"
HUMANEVAL_PLUS = ROOT / "data/benchmarks/HumanEvalPlus-v0.1.10.jsonl.gz"
BENCHMARKS = {"humaneval": str(HUMANEVAL), "mbpp": str(ROOT / "data/benchmarks/mbpp.jsonl")}


def answer(i: int, problem: str, solution: str) -> dict:
    return {
        "id": f"python-{i}",
        "lang": "python",
        "seed": f"seed {i}",
        "source": f"data/seeds/python.jsonl:{i}",
        "request_hash": f"hash-{i}",
        "response": f"[Problem Description]\n{problem}\n\n[Solution]\n{solution}",
        "finish_reason": "stop",
        "usage": {"prompt_tokens": 100 + i, "completion_tokens": 50 + i},
        "problem": problem,
        "solution": solution,
    }


@pytest.fixture
def run(tmp_path) -> dict:
    """Seven seeds: one without an answer, one that did not parse, two duplicates of a kept row (clean's
    real rule), one holding a HumanEval canonical solution (decontamination's real rule), two kept."""
    task = load_tasks(HUMANEVAL)[12]
    seeds = [{"id": f"python-{i}", "lang": "python", "seed": f"seed {i}", "source": f"s:{i}"} for i in range(7)]
    answers = [
        answer(1, "broken", ""),
        answer(2, "Sum a list.", "def total(xs):\n    return sum(xs)"),
        answer(3, "Sum a list.", "def total2(xs):\n    return sum(xs)"),
        answer(4, "Longest string.", "def longest(strings):\n" + task["canonical_solution"]),
        answer(5, "Reverse a string.", "def rev(s):\n    return s[::-1]"),
        answer(6, "Count words.", "def total(xs):\n    return sum(xs)"),
    ]
    parsed_x = [{**answers[0], "reason": "missing_solution_header"}]
    kept, clean_x, _ = clean_pairs(answers[1:], seed=666)
    strings, _ = load_benchmark_strings(BENCHMARKS)
    decontaminated, contaminated, _ = decontaminate(kept, strings)
    files = {
        name: str(tmp_path / f"{name}.jsonl")
        for name in (
            "seeds",
            "responses",
            "parsed_excluded",
            "clean_excluded",
            "decontaminated",
            "decontaminated_excluded",
            "categories",
            "similarity",
            "sft",
            "validated",
            "validated_excluded",
        )
    }
    write_jsonl(files["seeds"], seeds)
    write_jsonl(files["responses"], answers)
    write_jsonl(files["parsed_excluded"], parsed_x)
    write_jsonl(files["clean_excluded"], clean_x)
    write_jsonl(files["decontaminated"], decontaminated)
    write_jsonl(files["decontaminated_excluded"], contaminated)
    write_jsonl(files["categories"], [{"id": r["id"], "category": "Web"} for r in decontaminated])
    write_jsonl(
        files["similarity"],
        [{"id": r["id"], "similarity": 0.25, "nearest_humaneval": "HumanEval/3"} for r in decontaminated],
    )
    write_jsonl(files["sft"], [{"id": r["id"]} for r in decontaminated])
    passed, failed = decontaminated[0], decontaminated[1]
    write_jsonl(files["validated"], [{**passed, "validated_as": "python"}])
    write_jsonl(
        files["validated_excluded"],
        [{**failed, "reason": "failed", "output": "x" * 3000 + "AssertionError", "validated_as": "python"}],
    )
    steps = [
        {"step": "parse", "rows_in": 6, "rows_out": 5, "dropped_by_reason": {"missing_solution_header": 1}},
        {"step": "clean", "rows_in": 5, "rows_out": len(kept), "dropped_by_reason": {r["reason"]: 1 for r in clean_x}},
        {
            "step": "decontaminate",
            "rows_in": len(kept),
            "rows_out": len(decontaminated),
            "dropped_by_reason": {"human_eval_solutions_match": 1},
        },
    ]
    files["report"] = str(tmp_path / "report.json")
    write_json(files["report"], {"steps": steps})
    cache = ResponseCache(tmp_path / "cache/teacher-responses.sqlite")
    cache.put("hash-2", {}, {"response": "...", "latency_s": 1.5})
    cache.close()
    return {
        "files": files,
        "kept": decontaminated,
        "contaminated": contaminated,
        "clean_x": clean_x,
        "task": task,
        "cache": str(tmp_path / "cache"),
        "passed": passed["id"],
        "failed": failed["id"],
    }


def journey(run: dict, **extra) -> dict[str, dict]:
    f = run["files"]
    rows = journey_rows(
        seeds=read_jsonl(f["seeds"]),
        responses=f["responses"],
        parsed_excluded=f["parsed_excluded"],
        clean_excluded=f["clean_excluded"],
        decontaminated=f["decontaminated"],
        decontaminated_excluded=f["decontaminated_excluded"],
        benchmarks=BENCHMARKS,
        categories=f["categories"],
        similarity=f["similarity"],
        sft=f["sft"],
        cache_dir=run["cache"],
        **extra,
    )
    return {row["id"]: row for row in rows}


@pytest.mark.parametrize("validation", [False, True])
def test_the_streamed_journey_gives_the_rows_of_the_journey_read_into_memory(run, validation):
    """`journey_rows` looks the stages' rows up in a SQLite index, one seed at a time: its rows are
    exactly those of the journey that read every file into dicts (tests/explore_oracle.py)."""
    from ..explore_oracle import today_journey_rows

    f = run["files"]
    extra = {"validated": f["validated"], "validated_excluded": f["validated_excluded"]} if validation else {}
    files = {name: f[name] for name in ("responses", "parsed_excluded", "clean_excluded", "decontaminated")}
    files |= {name: f[name] for name in ("decontaminated_excluded", "categories", "similarity", "sft")}
    common = {**files, **extra, "benchmarks": BENCHMARKS, "cache_dir": run["cache"]}
    streamed = journey_rows(seeds=iter(read_jsonl(f["seeds"])), **common)
    assert list(streamed) == today_journey_rows(seeds=read_jsonl(f["seeds"]), **common)


def build_teacher(run: dict, database: Path, page: Path, teacher: str = "t", analysis: bool = True, **extra) -> None:
    """`run_teacher` on the fixture's files, as the rule calls it."""
    f = run["files"]
    curation = ("parsed_excluded", "clean_excluded", "decontaminated", "decontaminated_excluded", "report")
    run_teacher(
        seeds=f["seeds"],
        responses=f["responses"],
        benchmarks=BENCHMARKS,
        curation={k: f[k] for k in curation},
        analysis={k: f[k] for k in ("categories", "similarity")} if analysis else {},
        database=str(database),
        page=str(page),
        teacher=teacher,
        **extra,
    )


def test_every_seed_has_one_row_with_the_stage_that_dropped_it_and_why(run):
    rows = journey(run)
    assert list(rows) == [f"python-{i}" for i in range(7)]
    assert (rows["python-0"]["dropped_at"], rows["python-0"]["reason"]) == ("teacher", "no_answer")
    assert rows["python-0"]["stage_reached"] == "seeds" and rows["python-0"]["response"] is None
    assert (rows["python-1"]["dropped_at"], rows["python-1"]["stage_reached"]) == ("parse", "teacher")
    assert rows["python-1"]["parse_verdict"] == "missing_solution_header"
    for dropped in run["clean_x"]:  # clean's own verdict and the kept row it repeats
        row = rows[dropped["id"]]
        assert (row["dropped_at"], row["reason"], row["stage_reached"]) == ("clean", dropped["reason"], "parse")
        assert row["duplicate_of"] == dropped["duplicate_of"] and rows[row["duplicate_of"]]["dedup_verdict"] == "kept"
    kept = {row["id"] for row in run["kept"]}
    assert {key for key, row in rows.items() if row["in_sft"]} == kept
    assert all(rows[key]["dropped_at"] is None and rows[key]["stage_reached"] == "decontaminate" for key in kept)
    assert all(rows[key]["category"] == "Web" and rows[key]["nearest_humaneval"] == "HumanEval/3" for key in kept)
    assert rows["python-2"]["latency_s"] == 1.5 and rows["python-3"]["latency_s"] is None  # from the answer cache
    assert rows["python-2"]["prompt_tokens"] == 102 and rows["python-2"]["finish_reason"] == "stop"


def test_a_contaminated_row_names_the_matched_string_and_the_benchmark_item(run):
    row = journey(run)["python-4"]
    (contaminated,) = run["contaminated"]
    assert (row["dropped_at"], row["reason"], row["benchmark_family"]) == (
        "decontaminate",
        "human_eval_solutions_match",
        "human_eval_solutions",
    )
    assert (
        row["matched_string"] == contaminated["matched"] and row["matched_string"] in run["task"]["canonical_solution"]
    )
    assert row["matched_item"] == run["task"]["task_id"] == "HumanEval/12"
    assert row["decontamination_verdict"] == "human_eval_solutions_match" and row["problem"] == "Longest string."


def test_validation_verdicts_when_validation_ran(run):
    f = run["files"]
    rows = journey(run, validated=f["validated"], validated_excluded=f["validated_excluded"])
    passed, failed = rows[run["passed"]], rows[run["failed"]]
    assert (passed["validation_verdict"], passed["stage_reached"], passed["dropped_at"]) == ("passed", "validate", None)
    assert (failed["validation_verdict"], failed["dropped_at"], failed["reason"]) == ("failed", "validate", "failed")
    assert failed["validation_output"].endswith("AssertionError") and len(failed["validation_output"]) == 2000
    assert journey(run)[run["failed"]]["validation_verdict"] is None  # without validation: no verdict


def test_the_teacher_database_searches_problems_and_counts_like_the_curation_report(run, tmp_path):
    f = run["files"]
    database, page = tmp_path / "t.db", tmp_path / "t.html"
    build_teacher(run, database, page, cache_dir=run["cache"], sft=f["sft"])
    db = sqlite3.connect(database)
    found = db.execute("SELECT id FROM rows WHERE rowid IN (SELECT rowid FROM rows_fts WHERE rows_fts MATCH 'reverse')")
    assert [r[0] for r in found] == ["python-5"]
    by_reason = dict(
        db.execute(
            "SELECT reason, count(*) FROM rows WHERE dropped_at IN ('parse', 'clean', 'decontaminate') GROUP BY reason"
        )
    )
    report = {r["reason"]: r["rows"] for r in curation_steps(f["report"]) if r["reason"] != "kept"}
    assert by_reason == report
    indexed = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"idx_rows_reason", "idx_rows_dropped_at", "idx_rows_lang"} <= indexed
    text = page.read_text()
    assert "human_eval_solutions_match" in text and run["contaminated"][0]["matched"][:40] in text
    assert "http://127.0.0.1:8001/t/rows" in text


def test_a_failed_build_leaves_the_earlier_database_as_it_was(tmp_path):
    database = tmp_path / "t.db"
    database.write_bytes(b"earlier")
    tables = {"a": {"rows": [{"x": 1}], "columns": {"x": int}}, "b": {"rows": [{"y": object()}], "columns": {"y": str}}}
    with pytest.raises(Exception, match="object"):
        write_database(str(database), tables)
    assert database.read_bytes() == b"earlier" and [p.name for p in tmp_path.iterdir()] == ["t.db"]
    write_database(str(database), {"a": tables["a"]})
    assert sqlite3.connect(database).execute("SELECT x FROM a").fetchall() == [(1,)]


SOLUTION = "def has_close_elements(numbers, threshold):\n    return numbers[10]\n"
REPLAY = {"enabled": True, "timeout_s": 5, "workers": 2}


def evalplus_run(
    tmp_path: Path, model: str, statuses: list[tuple[str, str]], prompt_format: str, solutions: dict[int, str]
) -> dict:
    """An evaluation folder as `evaluate_model` leaves it: samples, EvalPlus's results, scores."""
    tasks = load_tasks(HUMANEVAL_PLUS, len(statuses))
    folder = tmp_path / model
    folder.mkdir()
    write_jsonl(  # wrong solutions: the first raises on its input, the others do not even compile
        folder / "samples.jsonl",
        [
            {"task_id": t["task_id"], "solution": solutions.get(i, f"sol {i}"), "completion": f"c {i}"}
            for i, t in enumerate(tasks)
        ],
    )
    results = {
        t["task_id"]: [
            {
                "base_status": b,
                "plus_status": p,
                "base_fail_tests": [] if b == "pass" else [[[1.0], 0.5] if i == 0 else [i + 0.5]],
                "plus_fail_tests": [] if p == "pass" else [[i]],
            }
        ]
        for i, (t, (b, p)) in enumerate(zip(tasks, statuses, strict=True))
    }
    write_json(folder / "samples_eval_results.json", {"eval": results})
    write_json(folder / "scores.json", {"n_tasks": len(tasks), "generation": {"prompt_format": prompt_format}})
    return {
        "model": model,
        "benchmark": "humaneval",
        "dataset": str(HUMANEVAL_PLUS),
        "samples": str(folder / "samples.jsonl"),
        "results": str(folder / "samples_eval_results.json"),
        "scores": str(folder / "scores.json"),
    }


@pytest.fixture
def eval_db(tmp_path) -> Path:
    base = evalplus_run(
        tmp_path, "base", [("fail", "fail"), ("pass", "pass"), ("pass", "fail")], "completion", {0: SOLUTION}
    )
    tuned = evalplus_run(
        tmp_path,
        "tuned",
        [("pass", "pass"), ("pass", "fail"), ("fail", "pass")],
        "magicoder",
        {2: "def truncate_number(number):\n    return None\n"},
    )
    folder = tmp_path / "mpe"
    folder.mkdir()
    write_jsonl(folder / "samples.jsonl", [{"name": "HumanEval_0_x", "sample": 0, "completion": "return 1;"}])
    write_jsonl(
        folder / "results.jsonl",
        [{"name": "HumanEval_0_x", "sample": 0, "status": "failed", "output": "AssertionError"}],
    )
    models = [
        {"model": "base", "kind": "student", "base": None, "data": None},
        {"model": "tuned", "kind": "run", "base": "base", "data": "oss-instruct"},
    ]
    run_eval(
        evalplus=[base, tuned],
        models=models,
        replay=REPLAY,
        database=str(tmp_path / "eval.db"),
        page=str(tmp_path / "e.html"),
        multipl_e=[
            {
                "decoding": "multipl-e",
                "model": "base",
                "language": "js",
                "samples": str(folder / "samples.jsonl"),
                "results": str(folder / "results.jsonl"),
            }
        ],
    )
    return tmp_path / "eval.db"


def test_the_evaluation_database_holds_prompts_completions_and_the_papers_pass_rule(eval_db):
    db = sqlite3.connect(eval_db)
    db.row_factory = sqlite3.Row
    rows = {(r["model"], r["task_id"]): r for r in db.execute("SELECT * FROM tasks")}
    tasks = load_tasks(HUMANEVAL_PLUS, 3)
    assert rows[("base", "HumanEval/0")]["prompt"] == tasks[0]["prompt"]  # completion format: the task prompt
    assert rows[("tuned", "HumanEval/0")]["prompt"] == build_prompt("humaneval", tasks[0], "", "magicoder")
    assert [rows[("tuned", t["task_id"])]["passed_plus"] for t in tasks] == [1, 0, 0]  # plus counts only after base
    assert rows[("base", "HumanEval/0")]["base_fail_input"] == json.dumps([[1.0], 0.5])
    # Failing solutions run again in the sandbox on that input: the traceback's tail; passing ones are not run.
    replayed = rows[("base", "HumanEval/0")]["replay_output"]
    assert "solution.py" in replayed and replayed.splitlines()[-2].startswith("IndexError")
    assert "SyntaxError" in rows[("base", "HumanEval/2")]["replay_output"]  # base passed, plus failed
    assert rows[("tuned", "HumanEval/2")]["replay_output"].splitlines() == ["returned None", "expected 0.5"]  # on [2.5]
    assert (
        rows[("tuned", "HumanEval/0")]["replay_output"] is None
        and rows[("base", "HumanEval/1")]["replay_output"] is None
    )
    assert rows[("base", "HumanEval/1")]["completion"] == "c 1" and rows[("base", "HumanEval/1")]["solution"] == "sol 1"
    (program,) = db.execute("SELECT * FROM multipl_e").fetchall()
    assert (program["status"], program["passed"], program["completion"]) == ("failed", 0, "return 1;")
    queries = explorer_metadata(["eval"])["databases"]["eval"]["queries"]
    fixed = db.execute(queries["fixed_by_fine_tuning"]["sql"]).fetchall()
    assert [(r["run"], r["task_id"]) for r in fixed] == [("tuned", "HumanEval/0")]
    broken = db.execute(queries["broken_by_fine_tuning"]["sql"]).fetchall()
    assert [(r["run"], r["task_id"]) for r in broken] == [("tuned", "HumanEval/1")]
    side = db.execute(queries["side_by_side"]["sql"], {"model_a": "base", "model_b": "tuned"}).fetchall()
    assert [(r["a_plus"], r["b_plus"]) for r in side] == [("fail", "pass"), ("pass", "fail"), ("fail", "pass")]
    page = (eval_db.parent / "e.html").read_text()
    assert 'href="http://127.0.0.1:8001/eval/tasks/base,humaneval,HumanEval~2F0"' in page  # Datasette's row path
    assert "base 2/3, plus 1/3" in page and "base 2/3, plus 1/3" in page.split("tuned")[1]


def test_the_metadata_describes_every_column_and_its_queries_run(run, eval_db, tmp_path):
    build_teacher(run, tmp_path / "t.db", tmp_path / "t.html", analysis=False)
    metadata = explorer_metadata(["t", "eval"])["databases"]
    for name, path in (("t", tmp_path / "t.db"), ("eval", eval_db)):
        db = sqlite3.connect(path)
        for table, spec in metadata[name]["tables"].items():
            columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
            assert set(spec["columns"]) == set(columns), (name, table)
            assert set(spec.get("facets", ())) <= set(columns)
        for query in metadata[name]["queries"].values():
            db.execute(query["sql"], {"model_a": "base", "model_b": "tuned"}).fetchall()


def test_ossinstruct_explore_serves_the_databases_on_localhost_and_prints_the_url(run, eval_db, tmp_path):
    folder = eval_db.parent
    build_teacher(run, folder / "teacher.db", tmp_path / "t.html", teacher="teacher")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ossinstruct.cli", "explore", "--folder", str(folder), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith(f"ossinstruct explorer: http://127.0.0.1:{port}/"), line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/teacher/rows.json?_facet=reason&_shape=objects") as r:
            data = json.load(r)
        counts = {item["value"]: item["count"] for item in data["facet_results"]["reason"]["results"]}
        assert counts["human_eval_solutions_match"] == 1 and counts["no_answer"] == 1
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/teacher/rows?nearest_humaneval=HumanEval/3") as r:
            html = r.read().decode()
        assert '/eval/tasks?benchmark=humaneval&amp;task_id=HumanEval%2F3"' in html  # a link into eval.db
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/eval/tasks?task_id=HumanEval/0") as r:
            html = r.read().decode()
        assert "/teacher/rows?nearest_humaneval=HumanEval%2F0" in html  # and back
    finally:
        process.terminate()
        process.wait(timeout=20)
    with pytest.raises(OSError):  # stopping the command stopped Datasette
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
