# Shared set-up: validate the config before any job runs, and the names every rule uses.
import re
from pathlib import Path

from ossinstruct.config import ConfigError, validate_config
from ossinstruct.teacher import request_settings

try:
    validate_config(config, Path(workflow.basedir) / "schemas" / "config.schema.yaml")
except ConfigError as error:
    raise WorkflowError(str(error)) from None

CACHE_DIR = config["cache_dir"]
CORPUS = config["seeds"]["corpus"]
TEACHER = config["teacher"]["name"]
TEACHER_GPUS = config["teacher"]["serve"]["gpus"] if config["teacher"]["server"] in ("vllm", "sglang") else 0
RUN = config["train"]["run"]
STUDENT = config["train"]["student"]["name"]
BENCHMARKS = config["evaluate"]["benchmarks"]


wildcard_constraints:
    corpus=re.escape(CORPUS),
    teacher=re.escape(TEACHER),
    run=re.escape(RUN),
    model="|".join(map(re.escape, [STUDENT, RUN])),
    benchmark="|".join(BENCHMARKS),


def curation_report(teacher):
    return f"results/curate/{teacher}/report.json"


def decontamination_inputs(wildcards):
    return {k: v for k, v in config["curate"]["benchmarks"].items() if v}


def evaluated_model_file(wildcards, input):
    """The GGUF file served for `model`: the export of a fine-tuned run, or the base student's."""
    if wildcards.model == RUN:
        return input.gguf
    student = config["train"]["student"]
    if wildcards.model == STUDENT and student["gguf"]:
        return student["gguf"]
    raise WorkflowError(
        f"evaluate: no GGUF model for {wildcards.model!r} (known: {RUN}, {STUDENT} with train.student.gguf)"
    )


def fine_tuned_gguf(wildcards):
    if wildcards.model == RUN:
        return {"gguf": f"results/models/{RUN}/model.gguf"}
    return {}
