"""Curation beyond the paper's defaults: the robust parser, MinHash, more benchmark families,
the n-gram overlap report, and the ablation data of Tables 5 and 6."""

import json

import pytest

from ossinstruct.ablation import dedup_pairs, extract_pairs, select_pairs, split_by_language
from ossinstruct.benchmark_strings import PAPER_FAMILIES, ds1000_prompt, ds1000_strings, load_benchmark_strings
from ossinstruct.clean import clean_pairs
from ossinstruct.decontaminate import decontaminate
from ossinstruct.io import DataError
from ossinstruct.parse import parse_response, parse_response_robust, parse_responses

REAL_TEACHER_STYLES = [
    ("## Problem Description\nSort it.\n\n## Solution\n```python\nx\n```", ("Sort it.", "```python\nx\n```")),
    ("**Problem Description:** Sort it.\n\n**Solution:**\ncode", ("Sort it.", "code")),
    ("[Problem Description] Sort it.\nMore.\n[Solution] code", ("Sort it.\nMore.", "code")),
    ("1. [Problem Description]: Sort it.\n2. [Solution]: code", ("Sort it.", "code")),
    ("### Problem\nSort it.\n### Solution:\ncode", ("Sort it.", "code")),
]


@pytest.mark.parametrize(("text", "expected"), REAL_TEACHER_STYLES)
def test_robust_parser_reads_what_real_teachers_write(text, expected):
    assert parse_response_robust(text) == expected


def test_robust_parser_does_not_take_a_sentence_for_a_header():
    text = "## Problem Description\nThe solution must be fast.\n## Solution\ncode"
    assert parse_response_robust(text) == ("The solution must be fast.", "code")
    assert parse_response_robust("## Problem Description\nonly a problem") == "missing_solution_header"


def test_both_parsers_report_what_they_dropped_and_why():
    rows = [
        {"id": str(i), "lang": "python", "finish_reason": "stop", "response": text}
        for i, (text, _) in enumerate(REAL_TEACHER_STYLES)
    ]
    paper_kept, _, paper = parse_responses(rows, "paper")
    robust_kept, _, robust = parse_responses(rows, "robust")
    assert robust["parser"] == "robust" and len(robust_kept) == 5 and robust["dropped"] == 0
    assert paper["parser"] == "paper" and paper["rows_in"] == paper["rows_out"] + paper["dropped"] == 5
    assert paper["dropped_by_reason"] == {"missing_problem_header": 3, "empty_solution": 1, "empty_problem": 1}
    assert not paper_kept
    assert parse_response(REAL_TEACHER_STYLES[2][0]) == "empty_solution"  # the paper loses header-line text


def long_text(i, variant=""):
    return " ".join(f"word{(i * 31 + j) % 997}" for j in range(80)) + variant


def test_minhash_removes_near_duplicates_only_when_enabled():
    rows = [
        {"id": "a", "lang": "python", "seed": "s1", "problem": long_text(1), "solution": "x = 1"},
        {"id": "b", "lang": "python", "seed": "s2", "problem": long_text(1, " extra"), "solution": "x = 2"},
        {"id": "c", "lang": "python", "seed": "s3", "problem": long_text(2), "solution": "y = 3"},
    ]
    kept, excluded, report = clean_pairs(rows)
    assert len(kept) == 3 and report["minhash"] is None
    settings = {"enabled": True, "ngram": 5, "num_perm": 256, "threshold": 0.7, "seed": 1}
    kept, excluded, report = clean_pairs(rows, minhash={**settings, "enabled": False})  # the default: off
    assert len(kept) == 3 and not excluded
    kept, excluded, report = clean_pairs(rows, minhash=settings)
    assert sorted(row["id"] for row in kept + excluded) == ["a", "b", "c"]
    assert [row["reason"] for row in excluded] == ["near_duplicate"]
    assert {excluded[0]["id"], excluded[0]["near_duplicate_of"]} == {"a", "b"}
    assert report["dropped_by_reason"] == {"near_duplicate": 1} and report["rows_in"] == 3


def test_ngram_overlap_reports_what_the_substring_rule_misses(root):
    families, _ = load_benchmark_strings({"humaneval": root / "data/benchmarks/HumanEval.jsonl.gz"})
    docstring = families["human_eval_docstrings"][0]
    reflowed = docstring.replace(" ", "  ").replace(".", " .")  # defeats the exact substring
    rows = [
        {"id": "near", "problem": reflowed, "solution": "pass"},
        {"id": "clean", "problem": "Write a function that reverses a linked list in place.", "solution": "pass"},
    ]
    kept, excluded, report = decontaminate(rows, families, overlap_n=10)
    assert [row["id"] for row in kept] == ["near", "clean"] and not excluded
    overlap = report["ngram_overlap_of_kept_rows"]
    assert overlap["n"] == 10 and overlap["rows_with_overlap"] == 1
    assert overlap["rows_with_overlap_by_family"]["human_eval_docstrings"] == 1
    assert overlap["example_ids"]["human_eval_docstrings"] == ["near"]


def test_apps_ds1000_and_multipl_e_families(root, tmp_path):
    """The paper's strings: APPS stripped, DS-1000 up to its marker and not stripped, MBPP as it is;
    APPS and DS-1000 read from their official layouts (the Hub repo's folder, the ds1000_data folder,
    the new-format rows) by the same calls a Hub id takes."""
    standins = root / "tests/data/rehearsal"
    families, skipped = load_benchmark_strings(
        {
            "apps": standins / "hub/codeparrot/apps",
            "ds1000": standins / "ds1000_data",
            "multipl_e": root / "data/benchmarks/multipl-e",
            "mbpp": root / "data/benchmarks/mbpp.jsonl",
        }
    )
    assert list(families) == [
        "mbpp_docstrings",
        "mbpp_solutions",
        "apps_docstrings",
        "ds_1000_prompts",
        "multipl_e_prompts",
    ]
    assert (
        families["apps_docstrings"][0]
        == "You are given two integers a and b. Print their sum.\n\n-----Input-----\nTwo integers."
    )
    assert families["ds_1000_prompts"] == [
        "import matplotlib.pyplot as plt\nx = [1, 2, 3]\n\n# plot x against itself\n# ",
        "Problem:\nI have a DataFrame df and want the sum of column a.\nA:\n<code>\nimport pandas as pd\n"
        "df = pd.DataFrame({'a': [1, 2]})\n</code>\nresult = ... # put solution in this variable\n",
    ]
    assert any(code.endswith("\r\n") or "\r\n" in code for code in families["mbpp_solutions"])  # not stripped
    assert len(families["multipl_e_prompts"]) == 955  # 6 languages, comment blocks only
    assert all("#include" not in text for text in families["multipl_e_prompts"])
    assert skipped == [f for f in PAPER_FAMILIES if f not in families]  # the optional family is never "missing"

    new_format = tmp_path / "ds1000.jsonl"  # xlangai/DS-1000's rows
    new_format.write_text(json.dumps({"prompt": "a\nSOLUTION START\nb"}) + "\n" + json.dumps({"prompt": "no marker"}))
    with pytest.raises(DataError, match=r"ds1000.jsonl row 2: the prompt has no 'SOLUTION START'"):
        ds1000_strings(new_format)
    assert ds1000_prompt("a\nSOLUTION START\nb") == "a\n"
    with pytest.raises(DataError, match="2 'BEGIN SOLUTION' markers"):
        ds1000_prompt("x BEGIN SOLUTION y BEGIN SOLUTION")


def test_language_split_paper_rule_and_conservative_variant():
    rows = [
        {"id": "1", "lang": "python", "problem": "p", "solution": "```python\nx\n```"},
        {"id": "2", "lang": "rust", "problem": "p", "solution": "```rust\nx\n```"},
        {"id": "3", "lang": "shell", "problem": "p", "solution": "```python\nx\n```"},
        {"id": "4", "lang": "python", "problem": "p", "solution": "```\nx\n```"},
        {"id": "5", "lang": "python", "problem": "p", "solution": "```py\nx\n```"},  # not the paper's fence
    ]
    python, other, aside, report = split_by_language(rows, "paper")
    assert [r["id"] for r in python] == ["1", "3"] and [r["id"] for r in other] == ["2", "4", "5"] and not aside
    python, other, aside, report = split_by_language(rows, "conservative")
    assert [r["id"] for r in python] == ["1"] and [r["id"] for r in other] == ["2"]
    assert report["set_aside_by_reason"] == {"python_fence_non_python_seed": 1, "python_seed_without_python_fence": 2}
    assert report["rows_in"] == report["python"] + report["other"] + report["set_aside"]


SOURCES = {
    "python": '# unused\n\ndef add(a, b):\n    """Add two numbers.\n\n    More text."""\n    return a + b\n\n'
    "def bare():\n    pass\n",
    "cpp": "// Adds two numbers.\nint add(int a, int b) { return a + b; }\n\nint bare() { return 0; }\n",
    "java": "class A {\n  /** Adds two numbers.\n   * @param a one */\n  int add(int a, int b) { return a + b; }\n}\n",
    "typescript": "// Adds two numbers.\nfunction add(a: number, b: number): number { return a + b; }\n",
    "shell": "# Adds two numbers.\nadd() {\n  echo $(($1 + $2))\n}\n",
    "csharp": "class A {\n  // Adds two numbers.\n  int Add(int a, int b) { return a + b; }\n}\n",
    "rust": "/// Adds two numbers.\nfn add(a: i32, b: i32) -> i32 { a + b }\n",
    "php": "<?php\nclass A {\n  // Adds two numbers.\n  function add($a, $b) { return $a + $b; }\n}\n",
    "swift": "// Adds two numbers.\nfunc add(a: Int, b: Int) -> Int { return a + b }\n",
}


def seed_of(lang, source, start=0, n_lines=1):
    return {"id": f"{lang}-0", "lang": lang, "source": source, "start_line": start, "n_lines": n_lines}


@pytest.mark.parametrize("lang", sorted(SOURCES))
def test_comment_function_pairs_in_every_seed_language(lang):
    """The paper's extraction: the comment group right above a function (Python: its docstring), its
    summary (first paragraph, or up to a JavaDoc `@`), as a completion pair: the comment as `///`
    lines (`###` for shell) + the function's first line, then the rest; Python: up to the docstring's end."""
    rows, report = extract_pairs([seed_of(lang, "doc")], {"doc": SOURCES[lang]})
    assert len(rows) == 1  # the uncommented function gives none
    row = rows[0]
    if lang == "python":
        assert row["prompt"] == 'def add(a, b):\n    """Add two numbers.\n\n    More text."""'
        assert row["completion"] == "\n    return a + b"
    else:
        # The paper strips C-style markers only: a shell comment keeps its `#` under the `### ` prefix.
        marker = "### # " if lang == "shell" else "/// "
        assert row["prompt"].startswith(marker + "Adds two numbers.\n") and "add" in row["prompt"].lower()
        assert row["prompt"].count("\n") == 1 + (lang == "shell")  # the comment, then the first line
    assert report["languages"][lang]["pairs"] == 1


def test_pairs_overlapping_the_seed_come_first_then_a_seeded_sample():
    text = "".join(f"def f{i}(x):\n    '''Doc {i}.'''\n    return x\n\n" for i in range(6))
    rows, _ = extract_pairs([seed_of("python", "doc", start=4, n_lines=2)], {"doc": text})  # lines 4-5: in f1
    assert [row["covered"] for row in rows] == [False, True, False, False, False, False]
    chosen, report = select_pairs(rows, 3, 42)
    assert len(chosen) == 3 and rows[1] in chosen
    assert report == {"covered": 1, "others": 5, "sampled_others": 2, "rows_out": 3, "shortfall": 0}
    assert select_pairs(rows, 3, 42)[0] == chosen and select_pairs(rows, 3, 7)[0] != chosen
    everything, report = select_pairs(rows, None, 42)
    assert sorted(r["id"] for r in everything) == sorted(r["id"] for r in rows) and report["shortfall"] == 0
    assert select_pairs(rows, 10, 42)[1]["shortfall"] == 4


def test_pairs_report_a_missing_grammar_and_dedup_is_an_option():
    seeds = [
        {**seed_of("python", "a.py"), "id": "a"},
        {**seed_of("python", "b.py"), "id": "b"},
        seed_of("cobol", "x.cob"),
    ]
    docs = {"a.py": SOURCES["python"], "b.py": SOURCES["python"], "x.cob": "IDENTIFICATION DIVISION."}
    rows, report = extract_pairs(seeds, docs)
    assert report["no_grammar"] == ["cobol"] and report["languages"]["python"]["pairs"] == 2
    kept, excluded, dedup = dedup_pairs(rows)
    assert len(kept) == 1 and dedup["dropped_by_reason"] == {"duplicate_prompt": 1}


def test_adjacent_line_comments_form_one_group_whatever_the_grammar_puts_in_them():
    """tree-sitter-rust ends a line comment with its line break (older grammars did not): two `///`
    lines right above a function are still one comment, and still directly above it."""
    text = "/// Adds two numbers.\n/// Wraps on overflow.\nfn add(a: i32, b: i32) -> i32 { a + b }\n"
    rows, _ = extract_pairs([seed_of("rust", "doc")], {"doc": text})
    assert rows[0]["prompt"] == "/// Adds two numbers.\n/// Wraps on overflow.\nfn add(a: i32, b: i32) -> i32 { a + b }"
    apart = "// Not this one.\n\n// Adds.\nint add(int a, int b) { return a + b; }\n"
    assert extract_pairs([seed_of("cpp", "doc")], {"doc": apart})[0][0]["prompt"].startswith("/// Adds.\n")
