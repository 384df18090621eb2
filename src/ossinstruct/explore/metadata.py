"""Datasette's `metadata` for the explorer: a description of every column, the facets, and the canned
queries, for each teacher database and the evaluation database (`eval`)."""

from __future__ import annotations

from .database import EVAL_FACETS, TEACHER_FACETS

JOURNEY_COLUMNS = {
    "id": "the seed's id (language-number), the same in every file of the run",
    "lang": "the seed's language",
    "seed": "the seed snippet from open-source code (paper §2.1)",
    "source": "where the seed came from (file:line of the seed corpus)",
    "start_line": "the first line of the snippet in its document",
    "stage_reached": "the last stage the row passed: seeds, teacher, parse, clean, decontaminate, validate",
    "dropped_at": "the stage that dropped the row (empty: it reached the end)",
    "reason": "why it was dropped (the stage's reason, as in its *_excluded.jsonl)",
    "in_sft": "1 if the row is in the fine-tuning set (results/sft/<teacher>.jsonl)",
    "response": "the teacher's whole answer",
    "finish_reason": "why the teacher stopped (stop, or length: cut at max_new_tokens)",
    "prompt_tokens": "tokens in the request, as the teacher counted them",
    "completion_tokens": "tokens in the answer, as the teacher counted them",
    "latency_s": "seconds the answer took (from the answer cache; empty when the cache is gone)",
    "parse_verdict": "kept, or why the answer did not parse into a problem and a solution",
    "problem": "the parsed problem (paper: [Problem Description])",
    "solution": "the parsed solution (paper: [Solution])",
    "dedup_verdict": "kept, or the duplicate field (seed, problem, solution; whitespace removed, first wins)",
    "duplicate_of": "the kept row this one duplicates",
    "decontamination_verdict": "kept, or <family>_match: the row contains a benchmark string",
    "benchmark_family": "the benchmark family whose string the row contains",
    "matched_string": "the benchmark string found in the problem or solution (the paper's first hit)",
    "matched_item": "the benchmark item the matched string comes from",
    "validation_verdict": "execution validation (not the paper's): passed, failed, error, timeout, no_tests",
    "validated_as": "the language the pair was run as",
    "validation_output": "the tail of the sandboxed run's output",
    "category": "the nearest of the paper's 10 categories (embedding of the problem)",
    "similarity": "the largest TF-IDF cosine similarity to a HumanEval item (Figure 3)",
    "nearest_humaneval": "the HumanEval item of that similarity",
}
TASK_COLUMNS = {
    "model": "the evaluated model (a base student or a fine-tuned run)",
    "benchmark": "humaneval (HumanEval+) or mbpp (MBPP+)",
    "task_id": "the EvalPlus task",
    "entry_point": "the function the task asks for",
    "passed_base": "1 if the solution passed the base tests",
    "passed_plus": "1 if it passed the base and the plus tests (the paper's pass@1 rule)",
    "base_status": "EvalPlus's verdict on the base tests (pass, fail, timeout)",
    "plus_status": "EvalPlus's verdict on the plus tests",
    "base_fail_input": "the first base-test input the solution failed (JSON)",
    "plus_fail_input": "the first plus-test input the solution failed (JSON)",
    "replay_output": "a failing solution run again in the sandbox on its first failing input: the tail of its "
    "output (the traceback, or what it returned); our replay, not EvalPlus's run",
    "prompt_format": "completion (the task continued) or magicoder (the instruction template)",
    "prompt": "the prompt the model was given",
    "completion": "what the model wrote",
    "solution": "the sanitised code EvalPlus ran",
}
MULTIPL_E_COLUMNS = {
    "decoding": "multipl-e (Table 2's sampling) or multipl-e-greedy (one greedy completion)",
    "model": "the evaluated model",
    "language": "the MultiPL-E language",
    "task": "the MultiPL-E task",
    "sample": "the sample's number",
    "passed": "1 if the program passed its tests",
    "status": "passed, failed, timeout, compile_error, ...",
    "completion": "what the model wrote",
    "output": "the tail of the program's output in the sandbox",
}

TEACHER_QUERIES = {
    "decontaminated": {
        "title": "Dropped by decontamination, with the matched string",
        "sql": "SELECT id, lang, benchmark_family, matched_item, matched_string, problem, solution FROM rows "
        "WHERE dropped_at = 'decontaminate' ORDER BY benchmark_family, id",
    },
    "duplicates": {
        "title": "Dropped as duplicates, beside the row they repeat",
        "sql": "SELECT d.id, d.reason, d.duplicate_of, d.problem, k.problem AS kept_problem FROM rows d "
        "LEFT JOIN rows k ON k.id = d.duplicate_of WHERE d.dropped_at = 'clean' ORDER BY d.id",
    },
    "longest_solutions": {
        "title": "Longest solutions",
        "sql": "SELECT id, lang, length(solution) AS characters, in_sft, problem, solution FROM rows "
        "WHERE solution IS NOT NULL ORDER BY characters DESC LIMIT 100",
    },
    "closest_to_humaneval": {
        "title": "Kept rows closest to HumanEval (Figure 3)",
        "sql": "SELECT id, similarity, nearest_humaneval, problem FROM rows WHERE similarity IS NOT NULL "
        "ORDER BY similarity DESC LIMIT 100",
    },
}
EVAL_QUERIES = {
    "fixed_by_fine_tuning": {
        "title": "Tasks the fine-tuned model passes and its base fails",
        "sql": "SELECT r.model AS run, m.base, r.benchmark, r.task_id, r.completion AS run_completion, "
        "b.completion AS base_completion FROM tasks r JOIN models m ON m.model = r.model AND m.kind = 'run' "
        "JOIN tasks b ON b.model = m.base AND b.benchmark = r.benchmark AND b.task_id = r.task_id "
        "WHERE r.passed_plus AND NOT b.passed_plus ORDER BY r.model, r.benchmark, r.rowid",
    },
    "broken_by_fine_tuning": {
        "title": "Tasks the base passes and the fine-tuned model fails",
        "sql": "SELECT r.model AS run, m.base, r.benchmark, r.task_id, r.plus_status, r.completion AS run_completion, "
        "b.completion AS base_completion FROM tasks r JOIN models m ON m.model = r.model AND m.kind = 'run' "
        "JOIN tasks b ON b.model = m.base AND b.benchmark = r.benchmark AND b.task_id = r.task_id "
        "WHERE b.passed_plus AND NOT r.passed_plus ORDER BY r.model, r.benchmark, r.rowid",
    },
    "side_by_side": {
        "title": "Two models on the same tasks, side by side",
        "description": "model_a and model_b: names from the models table (e.g. a base and its fine-tuned run)",
        "sql": "SELECT a.benchmark, a.task_id, a.base_status AS a_base, a.plus_status AS a_plus, "
        "b.base_status AS b_base, b.plus_status AS b_plus, a.solution AS a_solution, b.solution AS b_solution "
        "FROM tasks a JOIN tasks b ON b.benchmark = a.benchmark AND b.task_id = a.task_id "
        "WHERE a.model = :model_a AND b.model = :model_b ORDER BY a.benchmark, a.rowid",
    },
    "longest_completions": {
        "title": "Longest completions",
        "sql": "SELECT model, benchmark, task_id, length(completion) AS characters, plus_status, completion "
        "FROM tasks ORDER BY characters DESC LIMIT 100",
    },
}


def explorer_metadata(databases: list[str]) -> dict:
    """Metadata for the named databases (file stems: each teacher's name, and `eval`)."""
    found = {}
    for name in databases:
        if name == "eval":
            found[name] = {
                "description": "Every evaluated model's completion and EvalPlus verdict per task; MultiPL-E outcomes.",
                "tables": {
                    "tasks": {
                        "facets": list(EVAL_FACETS),
                        "columns": TASK_COLUMNS,
                        "label_column": "task_id",
                        "description": "One row per model x benchmark x task (EvalPlus, greedy).",
                    },
                    "multipl_e": {
                        "facets": ["model", "language", "status"],
                        "columns": MULTIPL_E_COLUMNS,
                        "description": "One row per MultiPL-E program run in the sandbox.",
                    },
                    "models": {
                        "columns": {
                            "model": "the name in the config",
                            "kind": "student or run",
                            "base": "a run's base model",
                            "data": "a run's fine-tuning data",
                        },
                        "description": "The evaluated models.",
                    },
                },
                "queries": EVAL_QUERIES,
            }
        else:
            found[name] = {
                "description": f"Every seed's journey through teacher {name}: answer, parse, dedup, "
                "decontamination, validation, analysis, fine-tuning set.",
                "tables": {
                    "rows": {
                        "facets": list(TEACHER_FACETS),
                        "columns": JOURNEY_COLUMNS,
                        "label_column": "id",
                        "description": "One row per seed. Search covers problem and solution.",
                    },
                    "steps": {
                        "columns": {
                            "step": "the curation step",
                            "reason": "kept, or a reason for dropping",
                            "rows": "rows (from results/curate/<teacher>/report.json)",
                        },
                        "description": "The curation report's counts.",
                    },
                },
                "queries": TEACHER_QUERIES,
            }
    return {
        "title": "ossinstruct explorer",
        "description": "OSS-Instruct data and evaluations of this project (results/explore/*.db).",
        "databases": found,
    }
