"""One entry point per stage, over plain paths and config sections.

Snakemake's `script:` adapters and the `ossinstruct` command line both call these, so a stage
behaves the same inside and outside the workflow.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from pathlib import Path

from .config import section_defaults
from .io import DataError, iter_jsonl_numbered, read_json, read_jsonl, require_fields, write_json, write_jsonl

SEED_FIELDS = ("id", "lang", "seed", "index")  # what the teacher stage reads from a seed row

log = logging.getLogger(__name__)


def setup_logging(path: str | None = None) -> None:
    """Log to the rule's log file; a fatal error is written there too, not only to stderr."""
    handlers = [logging.FileHandler(path, mode="w")] if path else [logging.StreamHandler()]
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s",
        handlers=handlers, force=True,
    )  # fmt: skip
    for noisy in ("httpx", "httpx2"):  # one INFO line per request otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if path:
        previous = sys.excepthook

        def log_fatal(kind, error, trace):
            logging.getLogger("ossinstruct").error("%s: %s", kind.__name__, error, exc_info=(kind, error, trace))
            previous(kind, error, trace)

        sys.excepthook = log_fatal


def run_seeds(output: str, report: str, settings: dict, documents: str | None = None) -> None:
    from .seeds import collect_seeds

    rows, summary, seed_documents = collect_seeds(settings)
    if not rows:
        raise ValueError("seeds: no seed snippets found in any configured source (seeds.languages)")
    write_jsonl(output, rows)
    if documents:
        write_jsonl(documents, seed_documents)
    write_json(report, summary)


def response_cache_files(cache_dir: str, teacher: str, shard: str) -> tuple[Path, list[Path]]:
    """(the file this shard writes, the other files whose answers it may reuse).

    Unsharded runs write `teacher-responses.sqlite`; shard i of n writes its own file under
    `teacher-responses.d/`, so that no two jobs (perhaps on two machines) share one SQLite file.
    """
    from .shards import parse_shard

    main = Path(cache_dir) / "teacher-responses.sqlite"
    folder = Path(cache_dir) / "teacher-responses.d"
    index, count = parse_shard(shard)
    own = main if count == 1 else folder / f"{teacher}.shard-{index}-of-{count}.sqlite"
    others = [path for path in [main, *sorted(folder.glob("*.sqlite"))] if path != own and path.exists()]
    return own, others


def run_generate(
    seeds: str,
    responses: str,
    report: str,
    settings: dict,
    cache_dir: str,
    threads: int = 2,
    server_log: str | None = None,
    transport: dict | None = None,
    price: dict | None = None,
    shard: str = "0-of-1",
) -> None:
    """Answer shard `shard` ("i-of-n") of the seeds. `settings`: the answer-deciding keys of the
    teacher section; `transport`: the rest (see teacher)."""
    from .generate import ResponseCache, TeacherFailures, generate_responses, plan_requests
    from .seeds import sample_seeds
    from .shards import parse_shard, shard_slice
    from .teacher import open_teacher

    settings = dict(settings)
    # Another teacher may answer only N seeds, drawn in proportion to the languages (Table 7).
    size, sample_seed = settings.pop("seeds", None), settings.pop("sample_seed", None)
    teacher = {"tokenizer": "auto", **(transport or {}), **settings}
    teacher["client"] = {**section_defaults("teacher.client"), **(teacher.get("client") or {})}
    rows = shard_slice(sample_seeds(read_jsonl(seeds, SEED_FIELDS), size, sample_seed), *parse_shard(shard))
    own, others = response_cache_files(cache_dir, settings["name"], shard)
    cache = ResponseCache(own)
    try:
        with open_teacher(teacher, threads, server_log) as endpoint:
            if others:
                jobs, _ = plan_requests(rows, settings, endpoint.count_tokens, endpoint.fingerprint)
                adopted = cache.adopt(others, [job.key for job in jobs])
                log.info("reused %d answers from %d other cache files", adopted, len(others))
            answered, summary = generate_responses(
                rows, settings, endpoint.clients, cache, endpoint.count_tokens, endpoint.fingerprint,
                endpoint.base_url, teacher["client"], price, teacher.get("mode", "online"), teacher.get("batch"),
            )  # fmt: skip
    except TeacherFailures as error:
        # The outputs are not written (the job fails), so the record of what failed goes beside the cache.
        failures = Path(cache_dir) / f"teacher-failures-{settings['name']}-{shard}.json"
        write_json(failures, error.report)
        raise type(error)(f"{error} (every failure: {failures})", error.report) from None
    finally:
        cache.close()
    summary["shard"] = shard
    write_jsonl(responses, answered)
    write_json(report, summary)


def run_merge_responses(shard_responses: list[str], shard_reports: list[str], responses: str, report: str) -> None:
    """The teacher's answers in seed order and one report, from the shards (in shard order)."""
    from .shards import merge_generation_reports

    rows = [row for path in shard_responses for row in read_jsonl(path)]
    write_jsonl(responses, rows)
    write_json(report, merge_generation_reports([read_json(path) for path in shard_reports]))


def run_parse(responses: str, parsed: str, excluded: str, report: str, settings: dict | None = None) -> None:
    from .parse import parse_responses

    kept, dropped, summary = parse_responses(
        read_jsonl(responses, ("id", "response", "finish_reason")), (settings or {}).get("parser", "paper")
    )
    write_jsonl(excluded, dropped)
    write_jsonl(parsed, kept)
    write_json(report, summary)


def run_clean(parsed: str, clean: str, excluded: str, report: str, settings: dict) -> None:
    from .clean import clean_pairs

    kept, dropped, summary = clean_pairs(
        read_jsonl(parsed, ("seed", "problem", "solution")),
        seed=settings["shuffle_seed"],
        minhash=settings.get("minhash"),
    )
    write_jsonl(excluded, dropped)
    write_jsonl(clean, kept)
    write_json(report, summary)


def run_decontaminate(
    clean: str, decontaminated: str, excluded: str, report: str, settings: dict, benchmarks: dict
) -> None:
    from .benchmarks import load_benchmark_strings
    from .decontaminate import decontaminate

    families, skipped = load_benchmark_strings(benchmarks, settings["fix_allow_list"])
    kept, dropped, summary = decontaminate(
        read_jsonl(clean, settings["columns"]), families, settings["columns"], settings.get("ngram_overlap", 0)
    )
    summary["skipped_families"] = skipped
    summary["complete"] = not skipped
    if skipped:
        log.warning("decontamination is incomplete: no data for %s", ", ".join(skipped))
    write_jsonl(excluded, dropped)
    write_jsonl(decontaminated, kept)
    write_json(report, summary)


def run_curation_report(step_reports: list[str], output: str) -> None:
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


def run_sft(decontaminated: str, output: str) -> None:
    from .sft import to_sft_rows

    write_jsonl(output, to_sft_rows(read_jsonl(decontaminated, ("problem", "solution"))))


def _fingerprint(*parts) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else json.dumps(part, sort_keys=True).encode())
    return digest.hexdigest()[:12]


def run_train(
    sft: str, model_dir: str, metrics: str, settings: dict, cache_dir: str, threads: int = 2,
    base_metrics: str | None = None,
) -> None:  # fmt: skip
    from .sft import FORMAT_COLUMNS
    from .train import launch_training, train_student, training_processes

    numbered = list(iter_jsonl_numbered(sft))
    if not numbered:
        raise DataError(
            f"{sft}: the training set is empty, so run {settings['run']!r} has nothing to learn from. For an "
            "OSS-Instruct set, results/curate/<teacher>/report.json says which step dropped the rows (a small "
            "teacher with the paper's teacher.demonstration: none writes almost no parseable answer)"
        )
    columns = FORMAT_COLUMNS["completion"] if "prompt" in numbered[0][1] else FORMAT_COLUMNS["instruction"]
    for number, row in numbered:
        require_fields(sft, number, row, columns)
    rows = [row for _, row in numbered]
    # Checkpoints live outside the outputs (Snakemake deletes those before a job) and are keyed by
    # the settings, the data and (for a run that continues another) the base run's record, so a
    # resumed run never continues someone else's training.
    base = Path(base_metrics).read_bytes() if base_metrics else b""
    key = _fingerprint(settings, Path(sft).read_bytes(), base)
    checkpoints = Path(cache_dir) / "checkpoints" / f"{settings['run']}-{key}"
    processes = training_processes(settings.get("gpus", 1))
    if processes > 1:
        summary = launch_training(sft, settings, model_dir, str(checkpoints), threads, processes)
    else:
        summary = train_student(rows, settings, model_dir, str(checkpoints), threads)
    summary["checkpoint_dir"] = str(checkpoints)
    summary["base"] = settings.get("base")
    summary["data"] = settings.get("data")
    write_json(metrics, summary)


def run_import_sft(name: str, settings: dict, output: str) -> None:
    from .sft import load_instruction_data

    write_jsonl(output, load_instruction_data(name, settings))


def run_decontaminate_import(imported: str, output: str, excluded: str, report: str, data_format: str,
                             settings: dict, benchmarks: dict) -> None:  # fmt: skip
    """An imported set through the same decontamination as OSS-Instruct (the paper decontaminated every
    set it trained on), on its own text columns (`sft.FORMAT_COLUMNS`), before any template."""
    from .sft import FORMAT_COLUMNS

    run_decontaminate(imported, output, excluded, report, {**settings, "columns": list(FORMAT_COLUMNS[data_format])},
                      benchmarks)  # fmt: skip


def run_export(model_dir: str, output: str, base_gguf: str, gguf_type: str) -> None:
    from .export import export_gguf

    export_gguf(model_dir, base_gguf, output, gguf_type)


def run_generate_samples(
    benchmark: str,
    model_file: str,
    model_name: str,
    samples: str,
    settings: dict,
    shard: str = "0-of-1",
    threads: int = 2,
    log_dir: str | None = None,
) -> None:
    """Completions for shard `shard` of the benchmark's tasks, with `evaluate.backend`, in the
    model's `prompt_format`; the solutions are cut out of them when the shards are scored."""
    from .evaluate import (
        build_prompt,
        complete_all,
        completion_function,
        load_tasks,
        serve_student,
        stop_strings,
        transformers_completions,
    )
    from .shards import parse_shard, shard_slice

    tasks = shard_slice(load_tasks(settings["datasets"][benchmark], settings["limit"]), *parse_shard(shard))
    prompt_format = settings["prompt_format"]
    stop = stop_strings(prompt_format, benchmark, settings["completion_stop"])
    logs = Path(log_dir) if log_dir else None
    if logs:
        logs.mkdir(parents=True, exist_ok=True)
    if settings["backend"] == "transformers":
        prompts = [build_prompt(benchmark, task, "", prompt_format) for task in tasks]
        completions = transformers_completions(model_file, prompts, settings, threads, stop=stop)
    else:
        server_log = logs / f"server-{shard}.log" if logs else None
        with serve_student(model_file, model_name, settings, threads, server_log) as (clients, bos):
            prompts = [build_prompt(benchmark, task, bos, prompt_format) for task in tasks]
            completions = complete_all(clients, completion_function(model_name, settings, stop), prompts)
    write_jsonl(
        samples,
        [{"task_id": task["task_id"], "completion": text} for task, text in zip(tasks, completions, strict=True)],
    )


def run_score(
    benchmark: str,
    shard_samples: list[str],
    model_name: str,
    samples: str,
    scores: str,
    settings: dict,
    cache_dir: str,
    threads: int = 2,
    log_dir: str | None = None,
) -> None:
    """The shards' completions in task order, checked against the task list, the solutions cut out of
    them (`evaluate.sanitizer`, the model's `prompt_format`), then EvalPlus's scores."""
    from .evaluate import EvaluationError, load_tasks, run_evalplus, score, subset_dataset, to_samples

    samples_path = Path(samples)
    dataset = subset_dataset(
        Path(settings["datasets"][benchmark]), samples_path.with_name("dataset.jsonl"), settings["limit"]
    )
    tasks = load_tasks(dataset)
    rows = [row for path in shard_samples for row in read_jsonl(path)]
    if [row["task_id"] for row in rows] != [task["task_id"] for task in tasks]:
        raise EvaluationError(f"{samples}: the shards' samples do not cover the {len(tasks)} tasks in order")
    prompt_format, sanitizer = settings["prompt_format"], settings["sanitizer"]
    completions = [row["completion"] for row in rows]
    write_jsonl(samples_path, to_samples(benchmark, tasks, completions, prompt_format, sanitizer))
    logs = Path(log_dir) if log_dir else None
    if logs:
        logs.mkdir(parents=True, exist_ok=True)
    results = run_evalplus(
        benchmark,
        samples_path,
        dataset,
        Path(cache_dir) / "evalplus",
        settings["timeout_s"],
        min(settings["parallel"], threads),
        settings["require_no_network"],
        logs / "evalplus.log" if logs else None,
    )
    summary = score(results, [task["task_id"] for task in tasks])
    generation = {key: settings[key] for key in ("prompt_format", "completion_stop", "sanitizer", "backend",
                                                 "max_new_tokens", "repeat_penalty")}  # fmt: skip
    if settings["backend"] == "transformers":
        generation["batch_size"] = settings["batch_size"]
    generation["shards"] = len(shard_samples)
    write_json(scores, {"model": model_name, "benchmark": benchmark, **summary, "generation": generation})


def run_evaluate(
    benchmark: str,
    model_file: str,
    model_name: str,
    samples: str,
    scores: str,
    settings: dict,
    cache_dir: str,
    threads: int = 2,
    log_dir: str | None = None,
) -> None:
    """Generation and scoring in one go (the command line's `evaluate`)."""
    shard = str(Path(samples).with_name("samples-0-of-1.jsonl"))
    run_generate_samples(benchmark, model_file, model_name, shard, settings, "0-of-1", threads, log_dir)
    run_score(benchmark, [shard], model_name, samples, scores, settings, cache_dir, threads, log_dir)


def run_table1(scores: dict[str, dict[str, str]], paper: str, output: str) -> None:
    from .tables import paper_rows, reproduced_row, write_table

    rows = [reproduced_row(model, by_benchmark) for model, by_benchmark in scores.items()]
    write_table(output, rows + paper_rows(paper))


def run_language_split(decontaminated: str, python: str, other: str, aside: str, report: str, rule: str) -> None:
    from .ablation import split_by_language

    py_rows, other_rows, aside_rows, summary = split_by_language(read_jsonl(decontaminated), rule)
    write_jsonl(python, py_rows)
    write_jsonl(other, other_rows)
    write_jsonl(aside, aside_rows)
    write_json(report, summary)


def run_comment_function_pairs(seeds: str, documents: str, output: str, excluded: str, report: str,
                               settings: dict) -> None:  # fmt: skip
    """Table 6's baseline data: comment-function pairs from the documents the seeds came from, those
    overlapping a seed snippet first, then a seeded sample of the rest up to `max_pairs`."""
    from .ablation import dedup_pairs, extract_pairs, select_pairs

    texts = {row["source"]: row["content"] for row in read_jsonl(documents)}
    rows, summary = extract_pairs(read_jsonl(seeds), texts)
    dropped: list[dict] = []
    dedup = None
    if settings["dedup"]:
        rows, dropped, dedup = dedup_pairs(rows)
    kept, selection = select_pairs(rows, settings["max_pairs"], settings["seed"])
    if not kept:
        raise ValueError("comment-function pairs: no function with a docstring or comment in any seed document")
    write_jsonl(excluded, dropped)
    write_jsonl(output, kept)
    write_json(report, {**summary, "dedup": dedup, "selection": selection, "rows_out": len(kept)})


def run_similarity(rows: str, compare: dict[str, str], humaneval: str, summary: str, figure: str, name: str) -> None:
    """Figure 3: every row's largest TF-IDF similarity to HumanEval, for our set and the compared ones
    (`compare`: name -> the set's decontaminated rows, `results/sft/<name>.jsonl`)."""
    from .analysis import humaneval_texts, max_similarity, row_text, similarity_summary
    from .figures import similarity_figure

    sets = {name: [row_text(row) for row in read_jsonl(rows)]}
    for other, path in compare.items():
        sets[other] = [row_text(row) for row in read_jsonl(path)]
    scores = max_similarity(sets, humaneval_texts(read_jsonl(humaneval)))
    result = similarity_summary(scores)
    write_json(summary, result)
    similarity_figure(result, figure)


def run_lengths(rows: str, tokenizer: str, summary: str, figure: str) -> None:
    from .analysis import count_tokens, length_summary, load_tokenizer, short_name
    from .figures import length_figure

    data = read_jsonl(rows)
    loaded = load_tokenizer(tokenizer)
    problems = count_tokens(loaded, [row["problem"] for row in data])
    solutions = count_tokens(loaded, [row["solution"] for row in data])
    result = {**length_summary(problems, solutions), "rows": len(data), "tokenizer": tokenizer}
    write_json(summary, result)
    length_figure(result, figure, short_name(tokenizer))


def run_categories(rows: str, settings: dict, summary: str, figure: str, assignments: str) -> None:
    """Each row's problem embedded and assigned to the nearest of the paper's 10 categories."""
    from .analysis import CATEGORIES, Embedder, assign_categories, category_summary, short_name
    from .figures import category_figure

    data = read_jsonl(rows)
    embed = Embedder(settings["embedding_model"], settings["embedding_batch_size"])
    assigned = assign_categories(embed([row["problem"] for row in data]), embed(list(CATEGORIES)))
    result = {**category_summary(assigned), "embedding_model": settings["embedding_model"]}
    write_jsonl(
        assignments, [{"id": row["id"], "category": CATEGORIES[i]} for row, i in zip(data, assigned, strict=True)]
    )
    write_json(summary, result)
    category_figure(result, figure, short_name(settings["embedding_model"]))


def run_dataset_card(
    rows: str, seeds_report: str, generation_report: str, curation_report: str, config: dict,
    data: str, manifest: str, card: str,
) -> None:  # fmt: skip
    from .card import build_manifest, dataset_card, export_rows

    kept = read_jsonl(rows)
    record = build_manifest(kept, read_json(seeds_report), read_json(generation_report), read_json(curation_report),
                            config)  # fmt: skip
    write_jsonl(data, export_rows(kept))
    write_json(manifest, record)
    Path(card).write_text(dataset_card(record), encoding="utf-8")


def run_multipl_e_generate(
    language: str, prompts: str, model_file: str, model_name: str, samples: str, settings: dict,
    evaluate: dict, threads: int = 2, log_dir: str | None = None,
) -> None:  # fmt: skip
    """`settings.samples` sampled completions per MultiPL-E task (paper: temperature 0.2, top-p 0.95),
    from a server of the model (`evaluate.backend` llama_cpp or vllm) or from transformers, each of
    the stripped prompt within `max_length` tokens in all (bigcode-evaluation-harness)."""
    from .analysis import load_tokenizer
    from .evaluate import complete_all, serve_student, transformers_completions
    from .multipl_e import missing_toolchain, prompt

    tasks = read_jsonl(prompts)[: settings["limit"] or None]
    missing = missing_toolchain(language)
    if missing and settings["skip_missing_toolchains"]:
        log.warning("MultiPL-E %s: %s, so no samples are generated (reported as missing)", language, missing)
        write_jsonl(samples, [])
        return
    jobs = [(task, i) for task in tasks for i in range(settings["samples"])]
    tokenizer = load_tokenizer(model_file)  # the prompt's tokens, BOS included, count against max_length
    bos = int(tokenizer.bos_token_id is not None)  # every backend starts the prompt with BOS
    budget = {task["name"]: settings["max_length"] - bos - len(tokenizer.encode(prompt(task), add_special_tokens=False))
              for task in tasks}  # fmt: skip
    if evaluate["backend"] == "transformers":  # a language's tasks share their stop strings
        generation = {"batch_size": evaluate["batch_size"], "repeat_penalty": 1.0}
        completions = transformers_completions(
            model_file, [prompt(task) for task, _ in jobs], generation, threads,
            stop=tasks[0]["stop_tokens"] if tasks else (), sampling=settings,
            budgets=[budget[task["name"]] for task, _ in jobs],
        )  # fmt: skip
    else:
        server_log = Path(log_dir) / f"server-{language}.log" if log_dir else None
        if server_log:
            server_log.parent.mkdir(parents=True, exist_ok=True)
        with serve_student(model_file, model_name, evaluate, threads, server_log) as (clients, bos):

            def complete(client, job):
                task, i = job
                if budget[task["name"]] <= 0:
                    return ""
                response = client.completions.create(
                    model=model_name, prompt=bos + prompt(task), max_tokens=budget[task["name"]],
                    temperature=settings["temperature"], top_p=settings["top_p"], seed=settings["seed"] + i,
                    stop=task["stop_tokens"],
                )  # fmt: skip
                return response.choices[0].text

            completions = complete_all(clients, complete, jobs)
    pairs = zip(jobs, completions, strict=True)
    write_jsonl(samples, [{"name": task["name"], "sample": i, "completion": text} for (task, i), text in pairs])


def run_multipl_e_execute(language: str, prompts: str, samples: str, results: str, scores: str, settings: dict,
                          threads: int = 2) -> None:  # fmt: skip
    from .multipl_e import execute_samples, missing_toolchain

    rows = read_jsonl(samples)
    missing = missing_toolchain(language)
    if missing or not rows:
        reason = missing or "no samples (the generation job found no toolchain)"
        log.warning("MultiPL-E %s: %s; reported as missing", language, reason)
        write_jsonl(results, [])
        write_json(scores, {"language": language, "missing": reason, "pass@1": None})
        return
    tasks = read_jsonl(prompts)[: settings["limit"] or None]
    per_sample, summary = execute_samples(language, tasks, rows, threads, settings["timeout_s"])
    write_jsonl(results, per_sample)
    write_json(scores, summary)


def run_table2(scores: dict[str, dict[str, str]], paper: str, output: str) -> None:
    from .tables import table2_row, write_table2

    write_table2(output, [table2_row(model, by_language) for model, by_language in scores.items()], paper)


def run_ablation_table(table: str, rows: list[dict], paper: str, output: str) -> None:
    """Tables 4-7: each model's row from its scores (and its training record), then the paper's."""
    from .tables import ablation_row, write_ablation_table

    reproduced = [
        ablation_row(table, row["model"], row["data"], row["evalplus"], row["multipl_e"], row["train_metrics"])
        for row in rows
    ]
    write_ablation_table(table, output, reproduced, paper)
