"""MultiPL-E (paper Table 2): HumanEval translated to Java, JavaScript, C++, PHP, Swift and Rust.

Reads the shipped prompts (`data/benchmarks/multipl-e/humaneval-<lang>.jsonl`: prompt, tests, stop
tokens); writes samples (`completion` cut at the task's stop tokens) and per-task results. As in
bigcode-evaluation-harness, the model continues the stripped prompt within `max_length` tokens in
all (prompt + generation), and a program is the stripped prompt + the completion + a line break +
the tests, compiled and run with the real toolchain in the sandbox (`sandbox.py`: bubblewrap, no
network, a fresh folder, limits, a wall-clock timeout). pass@1 is the unbiased estimator over `n`
samples per task (paper: temperature 0.2, top-p 0.95, 50 samples). A language whose toolchain is missing is reported as
missing, never as zero.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .evaluate.prompts import cut_at
from .io import read_jsonl, write_json, write_jsonl
from .progress import tracked
from .sandbox import Sandbox
from .toolchains import build_and_run, missing_toolchain, program_limits, sandbox_for

log = logging.getLogger(__name__)

LANGUAGES = ("java", "js", "cpp", "php", "swift", "rust")  # Table 2's order


def prompt(task: dict) -> str:
    """What the model continues: the task's prompt stripped, as bigcode-evaluation-harness sends it."""
    return task["prompt"].strip()


def program(task: dict, completion: str) -> str:
    """The harness's program: the stripped prompt, the completion up to a stop token, a line break, the tests."""
    return prompt(task) + cut_at(completion, task["stop_tokens"]) + "\n" + task["tests"]


def execute(
    language: str, source: str, timeout_s: float = 15.0, sandbox: Sandbox | None = None, toolchain: str = "ours"
) -> dict:
    """Build and run one MultiPL-E program; `status` is passed, compile_error, failed or timeout.
    `toolchain` harness: the harness's commands and time limits (`timeout_s` is not used)."""
    sandbox = sandbox or sandbox_for(f"MultiPL-E {language} programs", [language])
    return build_and_run(sandbox, language, source, program_limits(timeout_s), toolchain=toolchain)


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator of Chen et al. (2021), 1 - C(n-c, k) / C(n, k), as evalplus computes it."""
    from evalplus.eval import estimate_pass_at_k

    return float(estimate_pass_at_k([n], [c], k)[0])


def execute_samples(
    language: str,
    tasks: Sequence[dict],
    samples: Sequence[dict],
    workers: int = 2,
    timeout_s: float = 15.0,
    sandbox_settings: dict | None = None,
    toolchain: str = "ours",
) -> tuple[list[dict], dict]:
    """Every sample run against its task's tests; returns per-sample results and the scores."""
    by_name = {task["name"]: task for task in tasks}
    sandbox = sandbox_for(f"MultiPL-E {language} programs", [language], sandbox_settings, workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:

        def run_one(sample: dict) -> dict:
            source = program(by_name[sample["name"]], sample["completion"])
            return execute(language, source, timeout_s, sandbox, toolchain)

        runs = pool.map(run_one, samples)
        outcomes = list(tracked(runs, len(samples), f"MultiPL-E {language} programs", "programs"))
    results = [{"name": s["name"], "sample": s["sample"], **o} for s, o in zip(samples, outcomes, strict=True)]
    per_task: dict[str, list[bool]] = {task["name"]: [] for task in tasks}
    for result in results:
        per_task[result["name"]].append(result["status"] == "passed")
    scored = [pass_at_k(len(passed), sum(passed), 1) for passed in per_task.values() if passed]
    statuses = Counter(result["status"] for result in results)
    return results, {
        "language": language,
        "n_tasks": len(scored),
        "samples_per_task": len(samples) // max(1, len(tasks)),
        "pass@1": round(100 * sum(scored) / len(scored), 2) if scored else None,
        "statuses": dict(statuses),
        "toolchain": toolchain,
        "sandbox": sandbox.describe(),
    }


def run_generate(
    *,
    language: str,
    prompts: str,
    model_file: str,
    model_name: str,
    samples: str,
    settings: dict,
    evaluate: dict,
    threads: int = 2,
    log_dir: str | None = None,
) -> None:
    """`settings.samples` sampled completions per MultiPL-E task (paper: temperature 0.2, top-p 0.95),
    from a server of the model (`evaluate.backend` llama_cpp or vllm) or from transformers, each of
    the stripped prompt within `max_length` tokens in all (bigcode-evaluation-harness)."""
    from .evaluate.backends import complete_all, serve_student, server_stop, transformers_completions
    from .tokenizer import load_tokenizer

    tasks = read_jsonl(prompts)[: settings["limit"] or None]
    missing = missing_toolchain(language)
    if missing and settings["skip_missing_toolchains"]:
        log.warning("MultiPL-E %s: %s, so no samples are generated (reported as missing)", language, missing)
        write_jsonl(samples, [])
        return
    jobs = [(task, i) for task in tasks for i in range(settings["samples"])]
    tokenizer = load_tokenizer(model_file)  # the prompt's tokens, BOS included, count against max_length
    bos = int(tokenizer.bos_token_id is not None)  # every backend starts the prompt with BOS
    budget = {
        task["name"]: settings["max_length"] - bos - len(tokenizer.encode(prompt(task), add_special_tokens=False))
        for task in tasks
    }
    if evaluate["backend"] == "transformers":  # a language's tasks share their stop strings
        generation = {"batch_size": evaluate["batch_size"], "repeat_penalty": 1.0}
        completions = transformers_completions(
            model_file,
            [prompt(task) for task, _ in jobs],
            generation,
            threads,
            stop=tasks[0]["stop_tokens"] if tasks else (),
            sampling=settings,
            budgets=[budget[task["name"]] for task, _ in jobs],
        )
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
                    model=model_name,
                    prompt=bos + prompt(task),
                    max_tokens=budget[task["name"]],
                    temperature=settings["temperature"],
                    top_p=settings["top_p"],
                    seed=settings["seed"] + i,
                    stop=server_stop(evaluate["backend"], task["stop_tokens"]),
                )
                return cut_at(response.choices[0].text, task["stop_tokens"])

            completions = complete_all(clients, complete, jobs, f"MultiPL-E {language}")
    pairs = zip(jobs, completions, strict=True)
    write_jsonl(samples, [{"name": task["name"], "sample": i, "completion": text} for (task, i), text in pairs])


def run_execute(
    *,
    language: str,
    prompts: str,
    samples: str,
    results: str,
    scores: str,
    settings: dict,
    threads: int = 2,
    sandbox: dict | None = None,
) -> None:
    rows = read_jsonl(samples)
    missing = missing_toolchain(language)
    if missing or not rows:
        reason = missing or "no samples (the generation job found no toolchain)"
        log.warning("MultiPL-E %s: %s; reported as missing", language, reason)
        write_jsonl(results, [])
        write_json(scores, {"language": language, "missing": reason, "pass@1": None})
        return
    tasks = read_jsonl(prompts)[: settings["limit"] or None]
    per_sample, summary = execute_samples(
        language, tasks, rows, threads, settings["timeout_s"], sandbox, settings["toolchain"]
    )
    write_jsonl(results, per_sample)
    write_json(scores, summary)
