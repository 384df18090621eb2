"""The evaluation's generation step: completions for one shard of a benchmark's tasks (`run`), and
generation plus scoring in one go for the command line (`run_evaluate`)."""

from __future__ import annotations

from pathlib import Path

from ..io import write_jsonl


def run(
    *,
    benchmark: str,
    dataset: str,
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
    from ..shards import parse_shard, shard_slice
    from .backends import (
        batched_completions,
        complete_all,
        completion_function,
        serve_student,
        transformers_completions,
    )
    from .prompts import build_prompt, load_tasks, stop_strings

    tasks = shard_slice(load_tasks(dataset, settings["limit"]), *parse_shard(shard))
    prompt_format = settings["prompt_format"]
    if prompt_format == "completion":
        stop = stop_strings(prompt_format, benchmark, settings["completion_stop"])
    else:  # the Magicoder format ends at its fence; its jobs are not given `completion_stop`
        stop = stop_strings(prompt_format, benchmark)
    logs = Path(log_dir) if log_dir else None
    if logs:
        logs.mkdir(parents=True, exist_ok=True)
    if settings["backend"] == "transformers":
        prompts = [build_prompt(benchmark, task, "", prompt_format) for task in tasks]
        completions = transformers_completions(model_file, prompts, settings, threads, stop=stop)
    elif settings["backend"] == "llama_cpp" and settings["llama_cpp_sequences"] > 0:
        completions = batched_completions(model_file, benchmark, tasks, settings, threads, stop, f"{benchmark} {shard}")
    else:
        server_log = logs / f"server-{shard}.log" if logs else None
        with serve_student(model_file, model_name, settings, threads, server_log) as (clients, bos):
            prompts = [build_prompt(benchmark, task, bos, prompt_format) for task in tasks]
            complete = completion_function(model_name, settings, stop)
            completions = complete_all(clients, complete, prompts, f"{benchmark} {shard}")
    write_jsonl(
        samples,
        [{"task_id": task["task_id"], "completion": text} for task, text in zip(tasks, completions, strict=True)],
    )


def run_evaluate(
    *,
    benchmark: str,
    dataset: str,
    model_file: str,
    model_name: str,
    samples: str,
    scores: str,
    settings: dict,
    cache_dir: str,
    threads: int = 2,
    log_dir: str | None = None,
    sandbox: dict | None = None,
) -> None:
    """Generation and scoring in one go (the command line's `evaluate`); `sandbox`: where EvalPlus runs
    the code (the config's `sandbox` section)."""
    from . import scoring

    shard = str(Path(samples).with_name("samples-0-of-1.jsonl"))
    run(
        benchmark=benchmark,
        dataset=dataset,
        model_file=model_file,
        model_name=model_name,
        samples=shard,
        settings=settings,
        threads=threads,
        log_dir=log_dir,
    )
    scoring.run(
        benchmark=benchmark,
        dataset=dataset,
        shard_samples=[shard],
        model_name=model_name,
        samples=samples,
        scores=scores,
        settings=settings,
        cache_dir=cache_dir,
        threads=threads,
        log_dir=log_dir,
        sandbox=sandbox,
    )
