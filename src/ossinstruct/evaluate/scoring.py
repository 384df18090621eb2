"""EvalPlus scoring of a model's completions: the solutions cut out of the merged shards, run by
`evalplus.evaluate` (its own time and memory limits) in the sandbox (no network, a fresh folder,
a hard timeout), and pass@1 on the base and plus tests."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from ..io import read_jsonl, write_json, write_jsonl
from ..sandbox import INSIDE, Limits, Sandbox
from . import EvaluationError
from .prompts import load_tasks
from .solutions import to_samples

log = logging.getLogger(__name__)

GROUND_TRUTH_TIMEOUT_S = 3600  # the benchmark's own solutions, once per data set (MBPP+: about a minute)
OVERRIDE_VARIABLE = {"humaneval": "HUMANEVAL_OVERRIDE_PATH", "mbpp": "MBPP_OVERRIDE_PATH"}


def run_evalplus(
    *,
    benchmark: str,
    samples_path: Path,
    dataset_path: Path,
    cache_dir: Path,
    timeout_s: int,
    parallel: int,
    sandbox: dict | None = None,
    log_path: Path | None = None,
    min_time_limit: float = 0.2,
    gt_time_limit_factor: float = 4.0,
) -> dict:
    """`evalplus.evaluate` on the samples in the sandbox (`sandbox.py`), under a hard timeout; returns
    its per-task results. Each test input may take max(`min_time_limit`, `gt_time_limit_factor` x the
    canonical solution's time): 0.2 s and 4.0 on EvalPlus 1895d2f's command line (the paper's), 1.0 s
    and 4.0 in evalplus 0.3.1. The ground truth comes first, from the benchmark's canonical solutions
    (trusted code, outside the sandbox), into `cache_dir`, which the sandbox then only reads."""
    box = Sandbox("EvalPlus on model-generated code", sandbox)
    cache = cache_dir.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    variables = {
        OVERRIDE_VARIABLE[benchmark]: str(dataset_path.resolve()),
        "XDG_CACHE_HOME": str(cache),
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
    }
    runner = [sys.executable, "-m", "ossinstruct.evaluate.evalplus_runner", "--dataset", benchmark]
    cached = cache / "evalplus" / f"{hashlib.md5(dataset_path.read_bytes()).hexdigest()}.pkl"  # evalplus's key
    if cached.exists():  # computed by an earlier job: the sandboxed run reads it
        _append(log_path, f"ground truth of {dataset_path}: {cached}, computed earlier\n")
    else:
        truth = subprocess.run(
            [*runner, "--ground-truth-only"],
            env={**os.environ, **variables},
            capture_output=True,
            text=True,
            timeout=max(timeout_s, GROUND_TRUTH_TIMEOUT_S),
            check=False,
        )
        _append(log_path, truth.stdout + truth.stderr)
        if truth.returncode != 0:
            raise EvaluationError(
                f"evalplus could not compute the ground truth of {dataset_path}: {truth.stderr[-500:]}"
            )
    box.read_only.append(str(cache))
    inside = {**variables, OVERRIDE_VARIABLE[benchmark]: f"{INSIDE}/{dataset_path.name}"}  # a copy: same hash
    inside["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])  # this ossinstruct, as imported here
    outcome = box.run(
        [
            *runner,
            "--samples",
            "samples.jsonl",
            "--parallel",
            str(parallel),
            "--min_time_limit",
            repr(float(min_time_limit)),
            "--gt_time_limit_factor",
            repr(float(gt_time_limit_factor)),
        ],
        limits=Limits(timeout_s=timeout_s, cpu_s=timeout_s, memory_bytes=None, processes=1024, output_bytes=1 << 30),
        files={"samples.jsonl": samples_path.read_bytes(), dataset_path.name: dataset_path.read_bytes()},
        collect=("samples_eval_results.json",),
        env=inside,
    )
    _append(log_path, outcome.output)
    if outcome.status == "timeout":
        raise EvaluationError(f"evalplus on {samples_path} passed its {timeout_s}s limit and was killed")
    results = outcome.files.get("samples_eval_results.json")
    if outcome.returncode != 0 or results is None:
        raise EvaluationError(
            f"evalplus on {samples_path} failed with exit code {outcome.returncode}"
            + (f" (see {log_path})" if log_path else f": {outcome.output[-500:]}")
        )
    results_path = samples_path.with_name(samples_path.stem + "_eval_results.json")
    results_path.write_bytes(results)
    return json.loads(results)


def _append(log_path: Path | None, text: str) -> None:
    if log_path:
        with open(log_path, "a", encoding="utf-8") as handle:
            handle.write(text)


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
    sandbox: dict | None = None,
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
        sandbox=sandbox,
        log_path=logs / "evalplus.log" if logs else None,
        min_time_limit=settings["min_time_limit"],
        gt_time_limit_factor=settings["gt_time_limit_factor"],
    )
    summary = score(results, [task["task_id"] for task in tasks])
    generation = {
        key: settings[key]
        for key in (
            "prompt_format",
            "sanitizer",
            "backend",
            "max_new_tokens",
            "repeat_penalty",
            "min_time_limit",
            "gt_time_limit_factor",
        )
    }
    if prompt_format == "completion":  # the Magicoder format ends at its fence
        generation["completion_stop"] = settings["completion_stop"]
    if settings["backend"] == "transformers":
        generation["batch_size"] = settings["batch_size"]
    generation["shards"] = len(shard_samples)
    write_json(scores, {"model": model_name, "benchmark": benchmark, **summary, "generation": generation})
