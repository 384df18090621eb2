"""What a configured reproduction will cost before it runs: teacher tokens and dollars, GPU hours.

    python -m ossinstruct.estimate --configfile configs/paper.yaml

Counts come from the config (seed quotas, the teacher's budget and price, every run's data and
epochs, every evaluation). What the config cannot know is an assumption with a flag, printed
beside the result: the tokens of a seed snippet and of an answer, the rows of each data set, a
GPU's throughput. Training FLOPs are 6 x parameters x tokens; the parameters are read from a
model's name (`7b`, `6.7b`) unless given.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from .config import load_layered
from .models import check_models, evaluated_models, lineage, run_settings
from .teacher.prompts import build_messages
from .train.memory import GIB, describe, llama_shape, shape_of, training_memory

TASKS = {"humaneval": 164, "mbpp": 399}  # EvalPlus HumanEval+ and MBPP+ v0.1.0 (the paper's)
ASSUMPTIONS = {
    "bytes_per_token": 4.0,  # BPE tokenizers on English and code
    "seed_tokens": 120.0,  # a 1-15 line snippet (mean 8 lines)
    "completion_tokens": 450.0,  # a problem and a solution (the released set: ~75K rows of this size)
    "kept_fraction": 0.94,  # rows left after parsing, dedup and decontamination (paper: 75K of 80K)
    "sft_tokens_per_row": 600.0,  # instruction + response of one OSS-Instruct row
    "import_rows": 110_000.0,  # rows of an imported set (evol-codealpaca-v1: about 110K)
    "import_tokens_per_row": 500.0,
    "gpu_peak_tflops": 312.0,  # A100 bf16 dense
    "train_mfu": 0.40,  # model FLOPs utilisation of full fine-tuning
    "eval_tokens_per_s": 1500.0,  # vLLM greedy decoding of a 7B model on one GPU
    "eval_overhead_h": 0.1,  # loading weights and starting the server, per evaluation job
}


def model_params(name: str, override: float | None = None) -> float | None:
    """Parameters from `--params-b`, else from the name (`codellama-python-7b`); None if neither says."""
    if override:
        return override * 1e9
    found = re.findall(r"(\d+(?:\.\d+)?)([bm])(?![a-z])", name.lower())
    if not found:
        return None
    number, unit = found[-1]
    return float(number) * (1e9 if unit == "b" else 1e6)


def student_shape(config: dict, student: str, params: float | None) -> dict | None:
    """The base model's shape: its local folder's config.json, else a Llama shape for its parameters."""
    path = config["students"].get(student, {}).get("path")
    if path and (Path(path) / "config.json").exists():
        return shape_of(json.loads((Path(path) / "config.json").read_text()))
    return llama_shape(params) if params else None


def estimate(config: dict, assume: dict, params_b: float | None = None) -> dict:
    teacher, quotas = config["teacher"], config["seeds"]["languages"]
    seeds = sum(spec["quota"] for spec in quotas.values())
    template = "".join(m["content"] for m in build_messages("", teacher["demonstration"]))
    fixed = len(template.encode("utf-8")) / assume["bytes_per_token"]
    prompt_tokens = seeds * (fixed + assume["seed_tokens"])
    completion_tokens = seeds * min(assume["completion_tokens"], teacher["max_new_tokens"])
    price = config.get("prices", {}).get(teacher["model"])
    discount = teacher["batch"]["discount"] if teacher.get("mode") == "batch" else 1.0
    dollars = (
        (prompt_tokens * price["prompt"] + completion_tokens * price["completion"]) / 1e6 * discount if price else None
    )
    rows = {"oss-instruct": seeds * assume["kept_fraction"]}
    train, gpu_hours = [], 0.0
    throughput = assume["gpu_peak_tflops"] * 1e12 * assume["train_mfu"]
    needed = _needed_runs(config)
    for run in config["runs"]:
        if run not in needed:
            continue
        settings = run_settings(config, run)
        data = config["runs"][run]["data"]
        ours = data in ("oss-instruct", "oss-instruct-validated")  # the validated set: at most the curated one
        n_rows = rows["oss-instruct"] if ours else config["sft_data"][data].get("limit") or assume["import_rows"]
        per_row = assume["sft_tokens_per_row"] if ours else assume["import_tokens_per_row"]
        tokens = n_rows * min(per_row, settings["max_length"]) * settings["epochs"]
        params = model_params(lineage(config, run)[-1], params_b)
        hours = 6 * params * tokens / throughput / 3600 if params else None
        shape = student_shape(config, lineage(config, run)[-1], params)
        memory = None
        if shape:
            memory = training_memory(
                shape,
                per_device_batch_size=settings["per_device_batch_size"],
                max_length=settings["max_length"],
                bf16=settings["bf16"],
                processes=settings["gpus"],
                gradient_checkpointing=settings["gradient_checkpointing"],
                attention=settings["attention"],
            )
            memory["shape_assumed"] = shape["assumed"]
        gpu_hours += hours or 0.0
        wall = hours / max(1, settings["gpus"]) if hours is not None else None
        train.append(
            {
                "run": run,
                "tokens": round(tokens),
                "params": params,
                "gpus": settings["gpus"],
                "gpu_hours": _round(hours, 1),
                "wall_hours": _round(wall, 1),
                "memory_per_gpu_gib": round(memory["total"] / GIB, 1) if memory else None,
                "memory": memory,
            }
        )
    evaluations = []
    limit = config["evaluate"]["limit"]
    for model in evaluated_models(config):
        for benchmark in config["evaluate"]["benchmarks"]:
            tasks = min(limit, TASKS[benchmark]) if limit else TASKS[benchmark]
            tokens = tasks * config["evaluate"]["max_new_tokens"]
            hours = (tokens / assume["eval_tokens_per_s"] / 3600 + assume["eval_overhead_h"]) * max(
                1, config["evaluate"]["gpus"]
            )
            evaluations.append({"model": model, "benchmark": benchmark, "gpu_hours": round(hours, 2)})
            gpu_hours += hours
    return {
        "seeds": seeds,
        "teacher": teacher["model"],
        "teacher_prompt_tokens": round(prompt_tokens),
        "teacher_completion_tokens": round(completion_tokens),
        "teacher_usd": round(dollars, 2) if dollars is not None else None,
        "training": train,
        "evaluations": evaluations,
        "gpu_hours": round(gpu_hours, 1),
        "assumptions": assume,
    }


def _round(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


def _needed_runs(config: dict) -> set[str]:
    return {name for model in evaluated_models(config) for name in lineage(config, model) if name in config["runs"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ossinstruct.estimate", description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", action="append", default=[], help="overlays of config.yaml, in order")
    parser.add_argument("--params-b", type=float, default=None, help="student parameters in billions")
    for key, value in ASSUMPTIONS.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=float, default=value, help=f"default {value}")
    args = parser.parse_args(argv)
    config = load_layered(args.configfile)
    check_models(config)
    assume = {key: getattr(args, key) for key in ASSUMPTIONS}
    result = estimate(config, assume, args.params_b)
    usd = f"${result['teacher_usd']:,.2f}" if result["teacher_usd"] is not None else "no price in `prices`"
    print(
        f"teacher {result['teacher']}: {result['seeds']} requests, {result['teacher_prompt_tokens']:,} prompt + "
        f"{result['teacher_completion_tokens']:,} completion tokens, {usd}"
    )
    for run in result["training"]:
        if run["params"] is None:
            print(f"train {run['run']}: {run['tokens']:,} tokens; parameters unknown (pass --params-b)")
            continue
        print(
            f"train {run['run']}: {run['tokens']:,} tokens x {run['params'] / 1e9:g}B parameters, "
            f"{run['gpu_hours']} GPU-hours ({run['wall_hours']} h on {run['gpus']} GPUs)"
        )
        memory = run["memory"]
        shape = "a Llama shape assumed from the parameters" if memory["shape_assumed"] else "from its config.json"
        print(f"  memory per GPU: {run['memory_per_gpu_gib']} GiB ({describe(memory)}; {shape})")
    eval_hours = sum(item["gpu_hours"] for item in result["evaluations"])
    print(f"evaluate: {len(result['evaluations'])} jobs, {eval_hours:.1f} GPU-hours")
    print(f"total: {result['gpu_hours']} GPU-hours")
    print("assumptions: " + ", ".join(f"{key}={value:g}" for key, value in assume.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
