# Shared set-up: validate the config before any job runs, and the names every rule uses.
import re
from pathlib import Path

from ossinstruct.config import ConfigError, validate_config
from ossinstruct.models import ModelError, base_folder, check_models, evaluated_models, root_student, run_settings
from ossinstruct.models import sft_name, table_models
from ossinstruct.shards import shard_names
from ossinstruct.teacher import request_settings

try:
    validate_config(config, Path(workflow.basedir) / "schemas" / "config.schema.yaml")
    check_models(config)
except (ConfigError, ModelError) as error:
    raise WorkflowError(str(error)) from None

CACHE_DIR = config["cache_dir"]
CORPUS = config["seeds"]["corpus"]
TEACHER = config["teacher"]["name"]
TEACHER_GPUS = config["teacher"]["serve"]["gpus"] if config["teacher"]["server"] in ("vllm", "sglang") else 0
TEACHER_SHARDS = shard_names(config["teacher"]["shards"])
STUDENTS = list(config["students"])
RUNS = list(config["runs"])
MODELS = STUDENTS + RUNS
TABLE1_MODELS = table_models(config)
EVALUATED = evaluated_models(config)
BENCHMARKS = config["evaluate"]["benchmarks"]
EVAL_SHARDS = shard_names(config["evaluate"]["shards"])
# Each rule gets only the `evaluate` keys it uses, so that naming another model or changing how
# scoring runs never reruns a generation job (GPU time).
EVAL_GENERATION = {
    key: config["evaluate"][key]
    for key in ("datasets", "limit", "max_new_tokens", "repeat_penalty", "backend", "batch_size", "gpus", "vllm")
}
EVAL_SCORING = {key: value for key, value in config["evaluate"].items() if key not in ("models", "shards")}
SFT_IMPORTS = list(config["sft_data"])


wildcard_constraints:
    corpus=re.escape(CORPUS),
    teacher=re.escape(TEACHER),
    run="|".join(map(re.escape, RUNS)),
    model="|".join(map(re.escape, MODELS)),
    benchmark="|".join(BENCHMARKS),
    shard=r"\d+-of-\d+",
    data="|".join(map(re.escape, SFT_IMPORTS)) or "(?!)",


def curation_report(teacher):
    return f"results/curate/{teacher}/report.json"


def decontamination_inputs(wildcards):
    return {k: v for k, v in config["curate"]["benchmarks"].items() if v}


def train_inputs(wildcards):
    """The run's data and, when it continues another run (MagicoderS), that run's weights."""
    spec = config["runs"][wildcards.run]
    inputs = {"sft": f"results/sft/{sft_name(config, spec['data'])}.jsonl"}
    if spec["base"] in config["runs"]:
        inputs["base"] = base_folder(spec["base"])
        inputs["base_metrics"] = f"results/models/{spec['base']}/train_metrics.json"
    return inputs


def train_gpus(wildcards):
    return run_settings(config, wildcards.run)["gpus"]


def evaluated_model_inputs(wildcards):
    """What the evaluation of `model` reads: a run's weights (as GGUF for llama.cpp), nothing for a student."""
    if wildcards.model not in config["runs"]:
        return {}
    if config["evaluate"]["backend"] == "llama_cpp":
        return {"model": f"results/models/{wildcards.model}/model.gguf"}
    return {"model": base_folder(wildcards.model)}


def evaluated_model_file(wildcards, input):
    """The weights served for `model`: the run's output, or the student's GGUF / folder / model id."""
    if wildcards.model in config["runs"]:
        return input.model
    student = config["students"][wildcards.model]
    if config["evaluate"]["backend"] == "llama_cpp":
        return student["gguf"]
    return student["path"] or student["gguf"]


def eval_gpus(wildcards):
    return config["evaluate"]["gpus"]


# `{corpus}` in a source names this config's seed corpus (the comment-function pairs of its documents).
COMPARE = {
    name: {**spec, "source": spec["source"].replace("{corpus}", CORPUS)}
    for name, spec in config["analysis"]["compare"].items()
}


def compared_sets(wildcards):
    """Comparison sets that are files (a workflow output, e.g. the comment-function pairs, gets built)."""
    return [spec["source"] for spec in COMPARE.values() if not spec["source"].startswith("hf:")]
