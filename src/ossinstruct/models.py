"""The models a config names: base students, fine-tuning runs, and what evaluates them.

`students` are base models (a GGUF file or a Hugging Face folder/id). `runs` fine-tune a base,
which is a student or another run (MagicoderS continues from Magicoder), on a data set: `oss-instruct`
(this config's teacher's curated set) or a name in `sft_data` (e.g. evol-codealpaca). A run's
settings are `train` with the run's own `train:` overrides on top (MagicoderS: max_length 1024).
The checks here run before any job, so a typo in a model name fails at once, naming the key.
"""

from __future__ import annotations

import copy

from .config import HOW_KEYS

OSS_INSTRUCT = "oss-instruct"
OSS_INSTRUCT_VALIDATED = "oss-instruct-validated"  # the curated set after execution validation (`validate`)


class ModelError(ValueError):
    pass


def sft_name(config: dict, data: str) -> str:
    """The name of a fine-tuning set in `results/sft/{name}.jsonl` (a teacher's curated set is its name)."""
    if data == OSS_INSTRUCT_VALIDATED:
        return f"{config['teacher']['name']}-validated"
    return config["teacher"]["name"] if data == OSS_INSTRUCT else data


def teacher_names(config: dict) -> list[str]:
    """The main teacher, then those of `teachers`."""
    return [config["teacher"]["name"], *config["teachers"]]


def teacher_config(config: dict, name: str) -> dict:
    """A teacher's settings: the main `teacher`, or it with a `teachers` entry's keys replaced
    (a nested section such as `serve` is merged); `seeds` and `sample_seed` are not teacher keys and are left out."""
    if name == config["teacher"]["name"]:
        return config["teacher"]
    merged = copy.deepcopy(config["teacher"])
    for key, value in config["teachers"][name].items():
        if key in ("seeds", "sample_seed"):
            continue
        merged[key] = (
            {**merged[key], **value} if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    merged["name"] = name
    return merged


def lineage(config: dict, model: str) -> list[str]:
    """`model`, its base, its base's base, ... ending at a student."""
    chain = [model]
    while chain[-1] in config["runs"]:
        base = config["runs"][chain[-1]]["base"]
        if base in chain:
            raise ModelError(f"config key 'runs.{model}.base': a cycle ({' -> '.join([*chain, base])})")
        chain.append(base)
    return chain


def root_student(config: dict, model: str) -> tuple[str, dict]:
    name = lineage(config, model)[-1]
    return name, config["students"][name]


def run_settings(config: dict, run: str) -> dict:
    """Everything that decides run `run`'s weights: train settings, overrides, base and data."""
    spec = config["runs"][run]
    settings = {**copy.deepcopy(config["train"]), **copy.deepcopy(spec.get("train") or {})}
    if "gpus" in spec:
        settings["gpus"] = spec["gpus"]
    base = spec["base"]
    if base in config["students"]:  # the weights only: how a student is prompted does not change its training
        student = {key: config["students"][base][key] for key in ("gguf", "path")}
    else:
        student = {"gguf": None, "path": base_folder(base)}
    return {**settings, "run": run, "base": base, "student": student, "data": sft_name(config, spec["data"])}


def prompt_format(config: dict, model: str) -> str:
    """How `model` is prompted for evaluation: its own `prompt_format` (students: completion, runs: magicoder)."""
    spec = config["runs"][model] if model in config["runs"] else config["students"][model]
    return spec["prompt_format"]


def base_folder(run: str) -> str:
    return f"results/models/{run}/model"


def check_models(config: dict) -> None:
    """Every name a run, an evaluation or a table uses exists, and the evaluation backend can serve
    every evaluated model; raise ModelError naming the key. Names first: the backend checks follow
    each model's lineage, which needs known bases and no cycle."""
    problems = name_problems(config)
    if problems:
        raise ModelError("invalid configuration:\n  " + "\n  ".join(problems))
    for name in config["runs"]:
        lineage(config, name)
    problems = table_problems(config) + backend_problems(config)
    if problems:
        raise ModelError("invalid configuration:\n  " + "\n  ".join(problems))


def name_problems(config: dict) -> list[str]:
    """Students, runs, teachers and data sets: names that clash, and references to unknown ones."""
    students, runs, teachers, sft_data = config["students"], config["runs"], config["teachers"], config["sft_data"]
    problems = [f"config key 'runs.{name}': the name is also a student's" for name in sorted(set(students) & set(runs))]
    for name, spec in students.items():
        if bool(spec.get("gguf")) == bool(spec.get("path")):
            problems.append(f"config key 'students.{name}': give exactly one of gguf, path")
    known_data = {OSS_INSTRUCT, OSS_INSTRUCT_VALIDATED, *sft_data, *teachers}
    for name in sorted(set(teachers) & {*sft_data, config["teacher"]["name"]}):
        problems.append(f"config key 'teachers.{name}': the name is also the main teacher's or an sft_data set's")
    train_keys = set(config["train"])
    for name, spec in runs.items():
        if spec["base"] not in students and spec["base"] not in runs:
            problems.append(f"config key 'runs.{name}.base': unknown model {spec['base']!r} (a student or a run)")
        if spec["data"] not in known_data:
            problems.append(
                f"config key 'runs.{name}.data': unknown data set {spec['data']!r} ({', '.join(sorted(known_data))})"
            )
        if spec["data"] == OSS_INSTRUCT_VALIDATED and not config["validate"].get("prompts"):
            problems.append(
                f"config key 'validate.prompts': required for runs.{name}.data {OSS_INSTRUCT_VALIDATED} (tests prompts)"
            )
        for key in sorted(set(spec.get("train") or {}) - train_keys):
            allowed = ", ".join(sorted(train_keys))
            problems.append(f"config key 'runs.{name}.train.{key}': unknown key (allowed: {allowed})")
    for name in config["analysis"]["compare"]:
        if name not in sft_data:
            problems.append(f"config key 'analysis.compare': unknown data set {name!r} (a name in sft_data)")
    return problems


def compared_tables(config: dict) -> list[str]:
    """The tables beside Table 1 and Table 2 whose rows are models (Tables 4-7, the validated table)."""
    return [table for table in config["tables"] if table not in ("table1", "table2")]


def table_problems(config: dict) -> list[str]:
    """Models named by `evaluate.models` and the tables that are neither students nor runs."""
    students, runs = config["students"], config["runs"]
    named = (
        ("evaluate.models", config["evaluate"]["models"]),
        ("tables.table1.models", table_models(config)),
        ("tables.table2.models", config["tables"]["table2"]["models"]),
        *((f"tables.{table}.models", config["tables"][table]["models"]) for table in compared_tables(config)),
    )
    return [
        f"config key '{key}': unknown model {model!r} (known: {', '.join([*students, *runs])})"
        for key, names in named
        for model in names
        if model not in students and model not in runs
    ]


def backend_problems(config: dict) -> list[str]:
    """Models the evaluation backend cannot serve: llama_cpp evaluates GGUF models only."""
    if config["evaluate"]["backend"] != "llama_cpp":
        return []
    students, runs = config["students"], config["runs"]
    tabled = (model for table in compared_tables(config) for model in config["tables"][table]["models"])
    problems = []
    for model in dict.fromkeys([*evaluated_models(config), *tabled]):
        if model in students or model in runs:
            name, student = root_student(config, model)
            if not student.get("gguf"):
                problems.append(
                    f"config key 'evaluate.backend': llama_cpp evaluates GGUF models, and {model!r} "
                    f"descends from students.{name} without `gguf` (use transformers or vllm)"
                )
    return problems


def table_models(config: dict) -> list[str]:
    """The models of Table 1, in order: `tables.table1.models`, else every student then every run."""
    return list(config["tables"]["table1"].get("models") or [*config["students"], *config["runs"]])


def evaluated_models(config: dict) -> list[str]:
    """Models evaluated by `snakemake all`: Table 1's plus `evaluate.models`."""
    return list(dict.fromkeys([*table_models(config), *config["evaluate"]["models"]]))


def served_gguf(teacher: dict) -> str | None:
    """A vLLM/SGLang teacher's `serve.model` given as a GGUF file (a path or pkg:<package>/<file>):
    these servers take folders, so the DAG exports it to `teacher_folder` first (export_teacher_hf)."""
    model = (teacher.get("serve") or {}).get("model") or ""
    return model if teacher["server"] in ("vllm", "sglang") and model.endswith(".gguf") else None


def teacher_folder(name: str) -> str:
    return f"results/teachers/{name}/hf"


def served_teacher(teacher: dict, folder: str | None) -> dict:
    """The teacher as its job serves it: a GGUF `serve.model` replaced by the folder exported from it
    (`serve.exported_from` keeps the file, which names the answers in the cache)."""
    if not served_gguf(teacher):
        return teacher
    if not folder:
        raise ModelError(
            f"config key 'teacher.serve.model': {served_gguf(teacher)} is served from the folder "
            f"{teacher_folder(teacher['name'])}, which the job was not given"
        )
    return {**teacher, "serve": {**teacher["serve"], "model": folder, "exported_from": served_gguf(teacher)}}


def request_settings(teacher: dict) -> dict:
    """The keys of `teacher` that decide what the teacher answers."""
    settings = {key: value for key, value in teacher.items() if key not in HOW_KEYS["teacher"]}
    if teacher["server"] in ("vllm", "sglang"):
        settings["serve_model"] = (teacher.get("serve") or {}).get("model")
    return settings
