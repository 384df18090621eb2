"""What a configured reproduction will cost before it runs: teacher tokens and dollars, GPU hours.

    ossinstruct estimate --configfile configs/paper.yaml      # or python -m ossinstruct.estimate

Counts come from the config (seed quotas, the teacher's budget and price, the `teachers:` entries,
the validation requests, every run the tables need with its data and epochs, every EvalPlus
evaluation and Table 2's MultiPL-E samples). What the config cannot know is an assumption with a
flag, printed beside the result: the tokens of a seed snippet and of an answer, the rows of each
data set, a GPU's throughput, an open teacher's served tokens per second. Training FLOPs are
6 x parameters x tokens; the parameters are read from a model's name (`7b`, `6.7b`) unless given.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from .config import load_layered
from .models import check_models, evaluated_models, lineage, run_settings, table_models, teacher_config, teacher_names
from .teacher.prompts import build_messages
from .teacher.spending import ANSWER_TOKENS, VALIDATION_ANSWER_TOKENS
from .train.memory import GIB, describe, llama_shape, shape_of, training_memory

TASKS = {"humaneval": 164, "mbpp": 399}  # EvalPlus HumanEval+ and MBPP+ v0.1.0 (the paper's)
ASSUMPTIONS = {
    "bytes_per_token": 4.0,  # BPE tokenizers on English and code
    "seed_tokens": 120.0,  # a 1-15 line snippet (mean 8 lines)
    "completion_tokens": ANSWER_TOKENS,  # a problem and a solution (the released set: ~75K rows of this size)
    "kept_fraction": 0.94,  # rows left after parsing, dedup and decontamination (paper: 75K of 80K)
    "sft_tokens_per_row": 600.0,  # instruction + response of one OSS-Instruct row
    "import_rows": 110_000.0,  # rows of an imported set (evol-codealpaca-v1: about 110K)
    "import_tokens_per_row": 500.0,
    "gpu_peak_tflops": 312.0,  # A100 bf16 dense
    "train_mfu": 0.40,  # model FLOPs utilisation of full fine-tuning (not yet measured on a GPU here)
    "eval_tokens_per_s": 1500.0,  # vLLM greedy decoding of a 7B model on one GPU
    "eval_overhead_h": 0.1,  # loading weights and starting the server, per evaluation job
    "sample_tokens_per_s": 3000.0,  # vLLM sampling 50 completions per prompt (MultiPL-E) of a 7B on one GPU
    "open_teacher_tokens_per_s": 2000.0,  # an open teacher's completion tokens per second on its `serve.gpus`
    "validate_completion_tokens": VALIDATION_ANSWER_TOKENS,  # a tests answer (or sampled solution) of validation
}
MULTIPL_E = Path(__file__).parent / "data/benchmarks/multipl-e"


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


def teacher_cost(config: dict, teacher: dict, requests: float, assume: dict) -> dict:
    """One teacher's requests: prompt and completion tokens, dollars when `prices` has its model,
    GPU-hours when it is served here (vLLM, SGLang) at `open_teacher_tokens_per_s`."""
    template = "".join(m["content"] for m in build_messages("", teacher["demonstration"]))
    fixed = len(template.encode("utf-8")) / assume["bytes_per_token"]
    prompt_tokens = requests * (fixed + assume["seed_tokens"])
    completion_tokens = requests * min(assume["completion_tokens"], teacher["max_new_tokens"])
    price = config["prices"].get(teacher["model"])
    discount = teacher["batch"]["discount"] if teacher["mode"] == "batch" else 1.0
    dollars = (
        (prompt_tokens * price["prompt"] + completion_tokens * price["completion"]) / 1e6 * discount if price else None
    )
    served = teacher["server"] in ("vllm", "sglang")
    gpus = teacher["serve"]["gpus"] if served else 0
    hours = completion_tokens / assume["open_teacher_tokens_per_s"] / 3600 * gpus if served else None
    return {
        "teacher": teacher["name"],
        "model": teacher["model"],
        "requests": round(requests),
        "prompt_tokens": round(prompt_tokens),
        "completion_tokens": round(completion_tokens),
        "usd": round(dollars, 2) if dollars is not None else None,
        "served_gpus": gpus,
        "gpu_hours": _round(hours, 1),
    }


def validation_cost(config: dict, rows: float, assume: dict) -> dict | None:
    """Execution validation's teacher requests: per curated row one for tests and `solutions` more."""
    settings, teacher = config["validate"], config["teacher"]
    if not settings["enabled"]:
        return None
    requests = rows * (1 + settings["solutions"])
    prompts = settings["prompts"]

    def template(text: str) -> float:  # a prompt's own text, without the pair it quotes
        return len(text.encode("utf-8")) / assume["bytes_per_token"]

    # tests: the system text, the template and the whole pair; a solution: its template and the pair's
    # problem (at most the pair again)
    tests = template(prompts["system"] + prompts["tests"]) + assume["completion_tokens"]
    solution = template(prompts["solution"]) + assume["completion_tokens"]
    prompt = rows * tests + rows * settings["solutions"] * solution
    completion = requests * min(assume["validate_completion_tokens"], settings["max_new_tokens"])
    price = config["prices"].get(teacher["model"])
    dollars = (prompt * price["prompt"] + completion * price["completion"]) / 1e6 if price else None
    return {
        "requests": round(requests),
        "prompt_tokens": round(prompt),
        "completion_tokens": round(completion),
        "usd": round(dollars, 2) if dollars is not None else None,
    }


def multipl_e_models(config: dict) -> list[str]:
    """The models MultiPL-E samples for: Table 2's (else Table 1's, as the workflow does), and Tables 5-6's."""
    from .tables import ABLATION_TABLES

    models = list(config["tables"]["table2"]["models"] or table_models(config))
    for table, columns in ABLATION_TABLES.items():
        if "multipl_e" in columns and table in _tables_built(config):
            models += config["tables"][table]["models"]
    return list(dict.fromkeys(models))


def multipl_e_jobs(config: dict, assume: dict) -> list[dict]:
    """Table 2's sampling (and Tables 5-6's MultiPL-E columns): per model and language, tasks x
    `samples` completions of at most `max_length` tokens (prompt included: a ceiling)."""
    from .io import read_jsonl

    settings = config["multipl_e"]
    tasks = {}
    for language in settings["languages"]:
        count = len(read_jsonl(MULTIPL_E / f"humaneval-{language}.jsonl"))
        tasks[language] = min(count, settings["limit"]) if settings["limit"] else count
    jobs = []
    for model in multipl_e_models(config):
        for language in settings["languages"]:
            tokens = tasks[language] * settings["samples"] * settings["max_length"]
            hours = tokens / assume["sample_tokens_per_s"] / 3600 + assume["eval_overhead_h"]
            jobs.append(
                {
                    "model": model,
                    "language": language,
                    "samples": tasks[language] * settings["samples"],
                    "gpu_hours": round(hours, 2),
                }
            )
    return jobs


def data_rows(config: dict, data: str, curated: float, assume: dict) -> tuple[float, bool]:
    """(rows, whether they are OSS-Instruct rows) of a run's data: the curated set (the validated one
    is at most that), another teacher's, its language split (by the seed quotas), the comment-function
    pairs (`max_pairs`), or an imported set (`limit`, else `import_rows`)."""
    quotas = config["seeds"]["languages"]
    if data in ("oss-instruct", "oss-instruct-validated"):
        return curated, True
    if data in config["teachers"]:
        seeds = sum(spec["quota"] for spec in quotas.values())
        return min(seeds, config["teachers"][data].get("seeds") or seeds) * assume["kept_fraction"], True
    spec = config["sft_data"][data]
    source = str(spec["source"])
    if "/language-" in source and source.endswith(("/python.jsonl", "/other.jsonl")):
        python = (quotas["python"]["quota"] if "python" in quotas else 0) / max(
            1, sum(spec["quota"] for spec in quotas.values())
        )
        return curated * (python if source.endswith("/python.jsonl") else 1 - python), True
    if "comment-function" in source:
        return config["ablation"]["comment_function"][
            "max_pairs"
        ] or curated, False  # null (all): assumed as many as the curated rows
    return spec.get("limit") or assume["import_rows"], False


def estimate(config: dict, assume: dict, params_b: float | None = None) -> dict:
    quotas = config["seeds"]["languages"]
    seeds = sum(spec["quota"] for spec in quotas.values())
    main_teacher = teacher_cost(config, config["teacher"], seeds, assume)
    others = [
        teacher_cost(
            config, teacher_config(config, name), min(seeds, config["teachers"][name].get("seeds") or seeds), assume
        )
        for name in teacher_names(config)[1:]
    ]
    prompt_tokens, completion_tokens = main_teacher["prompt_tokens"], main_teacher["completion_tokens"]
    dollars = main_teacher["usd"]
    rows = {"oss-instruct": seeds * assume["kept_fraction"]}
    train, gpu_hours = [], 0.0
    throughput = assume["gpu_peak_tflops"] * 1e12 * assume["train_mfu"]
    needed = _needed_runs(config)
    for run in config["runs"]:
        if run not in needed:
            continue
        settings = run_settings(config, run)
        data = config["runs"][run]["data"]
        n_rows, ours = data_rows(config, data, rows["oss-instruct"], assume)
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
    validation = validation_cost(config, rows["oss-instruct"], assume)
    gpu_hours += sum(teacher["gpu_hours"] or 0.0 for teacher in [main_teacher, *others])
    multipl_e = multipl_e_jobs(config, assume)
    gpu_hours += sum(job["gpu_hours"] for job in multipl_e)
    evaluations = []
    limit = config["evaluate"]["limit"]
    for model in _evaluated(config):
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
        "teacher": main_teacher["model"],
        "teacher_prompt_tokens": round(prompt_tokens),
        "teacher_completion_tokens": round(completion_tokens),
        "teacher_usd": dollars,
        "teacher_gpu_hours": main_teacher["gpu_hours"],
        "teachers": others,
        "validation": validation,
        "training": train,
        "evaluations": evaluations,
        "multipl_e": multipl_e,
        "gpu_hours": round(gpu_hours, 1),
        "assumptions": assume,
    }


def _round(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


def _tables_built(config: dict) -> list[str]:
    """The tables `snakemake results/table{1,2,4,5,6,7}.csv all` builds: the paper's (each with models),
    and the validated-set table when validation is on."""
    tables = [name for name in ("table4", "table5", "table6", "table7") if config["tables"][name]["models"]]
    if config["validate"]["enabled"] and config["tables"]["table_validated"]["models"]:
        tables.append("table_validated")
    return tables


def _evaluated(config: dict) -> list[str]:
    """Every model an EvalPlus evaluation runs for: Table 1's, `evaluate.models`, Tables 4-7's."""
    tables = [model for table in _tables_built(config) for model in config["tables"][table]["models"]]
    return list(dict.fromkeys([*evaluated_models(config), *tables]))


def _needed_runs(config: dict) -> set[str]:
    models = _evaluated(config) + multipl_e_models(config)
    return {name for model in models for name in lineage(config, model) if name in config["runs"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ossinstruct estimate", description=__doc__.splitlines()[0])
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
    for teacher in result["teachers"]:
        cost = f"${teacher['usd']:,.2f}" if teacher["usd"] is not None else "no price in `prices`"
        if teacher["gpu_hours"] is not None:
            cost = f"{teacher['gpu_hours']} GPU-hours served on {teacher['served_gpus']} GPUs"
        print(
            f"teacher {teacher['teacher']} ({teacher['model']}): {teacher['requests']} requests, "
            f"{teacher['prompt_tokens']:,} prompt + {teacher['completion_tokens']:,} completion tokens, {cost}"
        )
    validation = result["validation"]
    if validation:
        cost = f"${validation['usd']:,.2f}" if validation["usd"] is not None else "no price in `prices`"
        print(
            f"validate: {validation['requests']} teacher requests, {validation['prompt_tokens']:,} prompt + "
            f"{validation['completion_tokens']:,} completion tokens, {cost}"
        )
    else:
        print("validate: off (validate.enabled: false)")
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
    if result["multipl_e"]:
        samples = sum(job["samples"] for job in result["multipl_e"])
        hours = sum(job["gpu_hours"] for job in result["multipl_e"])
        print(
            f"multipl-e: {len(result['multipl_e'])} jobs, {samples:,} samples "
            f"({config['multipl_e']['samples']} per task), {hours:.1f} GPU-hours"
        )
    print(f"total: {result['gpu_hours']} GPU-hours")
    print("assumptions: " + ", ".join(f"{key}={value:g}" for key, value in assume.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
