"""EvalPlus scoring of a model's completions: the solutions cut out of the merged shards, run by
`evalplus.evaluate` (its own time and memory limits) in a subprocess with no network and a hard
timeout, and pass@1 on the base and plus tests."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from ..io import read_json, read_jsonl, write_json, write_jsonl
from ..sandbox import network_isolation_prefix, require_network_isolation
from . import EvaluationError
from .prompts import load_tasks, to_samples

log = logging.getLogger(__name__)

OVERRIDE_VARIABLE = {"humaneval": "HUMANEVAL_OVERRIDE_PATH", "mbpp": "MBPP_OVERRIDE_PATH"}


def run_evalplus(
    *,
    benchmark: str,
    samples_path: Path,
    dataset_path: Path,
    cache_dir: Path,
    timeout_s: int,
    parallel: int,
    require_no_network: bool = True,
    log_path: Path | None = None,
) -> dict:
    """`evalplus.evaluate` in a subprocess with a hard timeout; returns its per-task results."""
    results_path = samples_path.with_name(samples_path.stem + "_eval_results.json")
    results_path.unlink(missing_ok=True)  # evalplus would silently reuse stale results
    if require_no_network:
        isolation = require_network_isolation("model-generated code", "evaluate.require_no_network: false")
    else:
        isolation = network_isolation_prefix()
    env = dict(os.environ)
    env.update(
        {
            OVERRIDE_VARIABLE[benchmark]: str(dataset_path.resolve()),
            "XDG_CACHE_HOME": str(cache_dir.resolve()),
            "HF_DATASETS_OFFLINE": "1",
            "HF_HUB_OFFLINE": "1",
        }
    )
    command = [
        *isolation,
        sys.executable,
        "-m",
        "ossinstruct.evaluate.evalplus_runner",
        "--dataset",
        benchmark,
        "--samples",
        str(samples_path.resolve()),
        "--parallel",
        str(parallel),
    ]
    sink = open(log_path, "ab") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        command,
        env=env,
        stdout=sink,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise EvaluationError(f"evalplus on {samples_path} passed its {timeout_s}s limit and was killed") from None
    if process.returncode != 0 or not results_path.exists():
        raise EvaluationError(
            f"evalplus on {samples_path} failed with exit code {process.returncode}"
            + (f" (see {log_path})" if log_path else "")
        )
    return read_json(results_path)


def score(results: dict, task_ids: Sequence[str]) -> dict:
    """pass@1 (greedy: one sample per task) on the base and the plus tests."""
    passed_base, passed_plus = [], []
    for task_id in task_ids:
        outcome = results["eval"][task_id][0]
        if outcome["base_status"] == "pass":
            passed_base.append(task_id)
            if outcome["plus_status"] == "pass":
                passed_plus.append(task_id)
    n = len(task_ids)
    return {
        "n_tasks": n,
        "pass@1": {"base": round(100 * len(passed_base) / n, 2), "plus": round(100 * len(passed_plus) / n, 2)},
        "passed": {"base": passed_base, "plus": passed_plus},
    }


def subset_dataset(source: Path, destination: Path, limit: int | None) -> Path:
    """EvalPlus insists on a sample for every task of its data set, so a subset is its own file."""
    if not limit:
        return source
    write_jsonl(destination, load_tasks(source, limit))
    return destination


def run(
    *,
    benchmark: str,
    dataset: str,
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
    samples_path = Path(samples)
    dataset_path = subset_dataset(Path(dataset), samples_path.with_name("dataset.jsonl"), settings["limit"])
    tasks = load_tasks(dataset_path)
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
        benchmark=benchmark,
        samples_path=samples_path,
        dataset_path=dataset_path,
        cache_dir=Path(cache_dir) / "evalplus",
        timeout_s=settings["timeout_s"],
        parallel=min(settings["parallel"], threads),
        require_no_network=settings["require_no_network"],
        log_path=logs / "evalplus.log" if logs else None,
    )
    summary = score(results, [task["task_id"] for task in tasks])
    generation = {
        key: settings[key]
        for key in ("prompt_format", "completion_stop", "sanitizer", "backend", "max_new_tokens", "repeat_penalty")
    }
    if settings["backend"] == "transformers":
        generation["batch_size"] = settings["batch_size"]
    generation["shards"] = len(shard_samples)
    write_json(scores, {"model": model_name, "benchmark": benchmark, **summary, "generation": generation})
