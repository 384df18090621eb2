import random
import string

import pytest

from ossinstruct.benchmark_strings import extract_docstring, humaneval_strings, load_benchmark_strings, mbpp_strings
from ossinstruct.clean import clean_pairs
from ossinstruct.decontaminate import decontaminate, naive_decontaminate
from ossinstruct.parse import parse_response, parse_responses

# ---- parse (method §3) -------------------------------------------------------------------------


def test_parse_takes_lines_between_headers_and_loses_header_text():
    text = "Intro\n[Problem Description] lost text\nDo X.\n\n**[Solution]** also lost\n```py\nx()\n```\n"
    assert parse_response(text) == ("Do X.", "```py\nx()\n```")


def test_parse_is_case_insensitive_and_uses_first_occurrences():
    text = "[PROBLEM DESCRIPTION]\nP1\n[solution]\nS1\n[Problem Description]\nP2\n[Solution]\nS2"
    assert parse_response(text) == ("P1", "S1\n[Problem Description]\nP2\n[Solution]\nS2")


@pytest.mark.parametrize(
    "text, reason",
    [
        ("no headers at all", "missing_problem_header"),
        ("[Problem Description]\nonly a problem", "missing_solution_header"),
        ("[Solution]\ns\n[Problem Description]\np", "headers_out_of_order"),
        ("[Problem Description] and [Solution] on one line\nbody", "headers_out_of_order"),
        ("[Problem Description]\n  \n[Solution]\ncode", "empty_problem"),
        ("[Problem Description]\np\n[Solution]\n\n", "empty_solution"),
    ],
)
def test_parse_drop_reasons(text, reason):
    assert parse_response(text) == reason


def test_parse_responses_drops_unfinished_and_counts_reasons():
    good = "[Problem Description]\np\n[Solution]\ns"
    rows = [
        {"id": "a", "lang": "python", "response": good, "finish_reason": "stop"},
        {"id": "b", "lang": "python", "response": good, "finish_reason": "length"},
        {"id": "c", "lang": "cpp", "response": "nothing", "finish_reason": "stop"},
    ]
    kept, excluded, report = parse_responses(rows)
    assert [r["id"] for r in kept] == ["a"] and kept[0]["problem"] == "p"
    assert {r["id"]: r["reason"] for r in excluded} == {
        "b": "finish_reason_length",
        "c": "missing_problem_header",
    }
    assert report["rows_in"] == 3 and report["rows_out"] == 1
    assert report["by_language"]["cpp"] == {"missing_problem_header": 1}


# ---- clean (method §4) -------------------------------------------------------------------------


def row(i, seed, problem, solution, lang="python"):
    return {"id": str(i), "lang": lang, "seed": seed, "problem": problem, "solution": solution}


def test_clean_removes_whitespace_only_duplicates_first_wins_after_shuffle():
    rows = [row(0, "a = 1", "P", "S"), row(1, "a=1\n", "Q", "T"), row(2, "b", "P  ", "U"), row(3, "c", "R", " S\t")]
    kept, excluded, report = clean_pairs(rows, seed=666)
    order = list(rows)
    random.Random(666).shuffle(order)
    survivors = []
    seen = {"seed": set(), "problem": set(), "solution": set()}
    for r in order:
        keys = {f: "".join(r[f].split()) for f in seen}
        if all(keys[f] not in seen[f] for f in seen):
            survivors.append(r["id"])
            for f in seen:
                seen[f].add(keys[f])
    assert [r["id"] for r in kept] == survivors
    assert report["rows_in"] == 4 and report["rows_out"] + report["dropped"] == 4
    assert set(report["dropped_by_reason"]) <= {"duplicate_seed", "duplicate_problem", "duplicate_solution"}


def in_shuffled_order(contents, seed=666):
    """Rows laid out so that after random.Random(seed).shuffle they come in `contents` order."""
    positions = list(range(len(contents)))
    random.Random(seed).shuffle(positions)
    rows = [None] * len(contents)
    for k, original in enumerate(positions):
        rows[original] = contents[k]
    return rows


def test_clean_rejected_rows_do_not_block_later_rows():
    # Shuffled order: 0, then 1 (duplicate seed of 0, new problem P1), then 2 (problem P1).
    # As in the paper, only kept rows enter the seen sets, so row 2 survives.
    rows = in_shuffled_order([row(0, "s", "P0", "S0"), row(1, "s", "P1", "S1"), row(2, "t", "P1", "S2")])
    kept, excluded, report = clean_pairs(rows, seed=666)
    assert [r["id"] for r in kept] == ["0", "2"]
    assert [(r["id"], r["reason"]) for r in excluded] == [("1", "duplicate_seed")]
    assert report["dropped_by_reason"] == {"duplicate_seed": 1}


def test_clean_reason_order_is_seed_then_problem_then_solution():
    rows = in_shuffled_order([row(0, "s", "P", "S"), row(1, "x", "P", "S"), row(2, "y", "Q", "S")])
    _, excluded, _ = clean_pairs(rows, seed=666)
    assert [(r["id"], r["reason"]) for r in excluded] == [("1", "duplicate_problem"), ("2", "duplicate_solution")]
    assert [r["duplicate_of"] for r in excluded] == ["0", "0"]  # the kept row each one repeats


def test_clean_duplicate_of_names_the_kept_row_not_an_earlier_dropped_one():
    # 1 repeats 0's seed (dropped); 2 repeats 1's problem P1, which no kept row has; 3 repeats 2's solution.
    rows = in_shuffled_order(
        [row(0, "s", "P0", "S0"), row(1, "s", "P1", "S1"), row(2, "t", "P1", "S2"), row(3, "u", "P3", "S2")]
    )
    _, excluded, _ = clean_pairs(rows, seed=666)
    assert [(r["id"], r["duplicate_of"]) for r in excluded] == [("1", "0"), ("3", "2")]


# ---- decontaminate (method §5) ----------------------------------------------------------------


def test_humaneval_docstring_extraction_rules():
    assert extract_docstring('def f():\n    """ Doc here. """\n') == "Doc here."
    four = 'import x\n"""module"""\ndef f():\n    """Real doc"""\n'
    assert extract_docstring(four) == "Real doc"
    assert extract_docstring("def f():\n    '''single'''\n") == "single"


def test_real_benchmark_strings_and_the_allow_list_bug(root):
    he = humaneval_strings(root / "data/benchmarks/HumanEval.jsonl.gz")
    assert len(he["human_eval_docstrings"]) == 164
    # As written, the paper's allow-list keeps 3 generic solutions and filters ''.join(strings).
    assert "return ''.join(strings)" in he["human_eval_solutions"]
    assert len(he["human_eval_solutions"]) == 161
    fixed = humaneval_strings(root / "data/benchmarks/HumanEval.jsonl.gz", fix_allow_list=True)
    assert len(fixed["human_eval_solutions"]) == 160
    mbpp = mbpp_strings(root / "data/benchmarks/mbpp.jsonl")
    assert len(mbpp["mbpp_docstrings"]) == 500 and len(mbpp["mbpp_solutions"]) == 500
    families, skipped = load_benchmark_strings(
        {
            "humaneval": root / "data/benchmarks/HumanEval.jsonl.gz",
            "mbpp": root / "data/benchmarks/mbpp.jsonl",
            "gsm8k": root / "data/benchmarks/gsm8k_test.jsonl",
        }
    )
    assert list(families) == [
        "mbpp_docstrings",
        "mbpp_solutions",
        "human_eval_docstrings",
        "human_eval_solutions",
        "gsm8k_questions",
    ]
    assert len(families["gsm8k_questions"]) == 1319
    assert skipped == ["apps_docstrings", "ds_1000_prompts"]


def test_decontaminate_records_first_hit_by_family_then_string_order():
    families = {"fam_a": ["zzz", "shared text"], "fam_b": ["Shared", "abc"]}
    rows = [
        {"id": "1", "problem": "Has SHARED TEXT inside", "solution": "abc"},
        {"id": "2", "problem": "clean", "solution": "nothing"},
        {"id": "3", "problem": "ends with", "solution": "ABC"},
    ]
    kept, excluded, report = decontaminate(rows, families)
    assert [r["id"] for r in kept] == ["2"]
    assert [(r["id"], r["reason"], r["matched"]) for r in excluded] == [
        ("1", "fam_a_match", "shared text"),
        ("3", "fam_b_match", "abc"),
    ]
    assert report["strings_per_family"] == {"fam_a": 2, "fam_b": 2}


def test_match_may_span_the_blank_line_between_problem_and_solution():
    families = {"f": ["end\n\nstart"]}
    kept, excluded, _ = decontaminate([{"problem": "the END", "solution": "Start here"}], families)
    assert not kept and excluded[0]["matched"] == "end\n\nstart"


@pytest.mark.parametrize("trial", range(5))
def test_aho_corasick_equals_the_paper_loop_on_random_planted_data(trial):
    rng = random.Random(trial)
    alphabet = string.ascii_letters[:6] + " \n"

    def text(n):
        return "".join(rng.choice(alphabet) for _ in range(n))

    families = {f"fam{k}": [text(rng.randint(2, 7)) for _ in range(rng.randint(1, 15))] for k in range(4)}
    families["fam1"].append(families["fam0"][0])  # the same string in two families
    families["fam2"].append(families["fam2"][0][:2])  # overlapping strings
    all_strings = [s for strings in families.values() for s in strings]
    rows = []
    for i in range(300):
        problem, solution = text(rng.randint(0, 40)), text(rng.randint(0, 40))
        if rng.random() < 0.3:  # plant a string, with random case, at a random position
            planted = rng.choice(all_strings)
            planted = "".join(c.upper() if rng.random() < 0.5 else c for c in planted)
            cut = rng.randint(0, len(problem))
            problem = problem[:cut] + planted + problem[cut:]
        rows.append({"id": str(i), "problem": problem, "solution": solution})
    fast_kept, fast_excluded, _ = decontaminate(rows, families)
    slow_kept, slow_excluded = naive_decontaminate(rows, families)
    assert fast_kept == slow_kept
    assert fast_excluded == slow_excluded
    assert slow_excluded  # the planted strings were found
