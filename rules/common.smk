# Shared set-up: validate the config before any job runs, and the names every rule uses.
import os
import re
import sys
from pathlib import Path

from ossinstruct.config import ConfigError, validate_config
from ossinstruct.models import ModelError, base_folder, check_models, evaluated_models, root_student, run_settings
from ossinstruct.models import sft_name, table_models, teacher_config, teacher_names
from ossinstruct.models import served_gguf, teacher_folder
from ossinstruct.tables import ABLATION_TABLES, table_benchmarks
from ossinstruct.paths import dataset_source, is_hub
from ossinstruct.shards import shard_names
from ossinstruct.settings import benchmark_sources, what as stage_what
from ossinstruct.hub import HubError, MANIFEST as HUB_MANIFEST, check_offline, set_offline, streamed_sources
from ossinstruct.hub import references as hub_references, row_of as hub_reference_row
from ossinstruct.doctor import PreflightError, preflight

try:
    validate_config(config)
    check_models(config)
    for _name in config["teachers"]:  # each other teacher is a whole teacher section once merged
        try:
            merged = {**config, "teacher": teacher_config(config, _name)}
            validate_config(merged)
        except ConfigError as error:
            raise ConfigError(str(error).replace("config key 'teacher.", f"config key 'teachers.{_name}.")) from None
    # hub.offline: every job reads only the Hugging Face cache that `snakemake prefetch` filled
    set_offline(config)
    # (the targets are not known while the Snakefile is read: the command line's words stand in for them)
    check_offline(config, workflow.dag_settings.targets if workflow.dag_settings else sys.argv[1:])
except (ConfigError, ModelError, HubError) as error:
    raise WorkflowError(str(error)) from None

# The checkout, for the envs/<stage>.post-deploy.sh scripts that install the library into each conda
# environment (Snakemake runs them from its own copy under .snakemake/conda/, not from envs/).
os.environ.setdefault("OSSINSTRUCT_WORKFLOW", workflow.basedir)


def preflight_before_jobs():
    """`ossinstruct doctor`'s checks that the jobs about to run need, before the first of them
    (Snakemake's onstart: not on a dry run). A failure stops the run with its fix; nothing is lost."""
    rules = {job.rule.name for job in workflow.dag.needrun_jobs()}
    try:
        for check in preflight(config, rules):
            if check.status == "warn":
                logger.warning(check.line())
    except PreflightError as error:
        raise WorkflowError(str(error)) from None


SEEDS_FROM_HUB = any(spec["source"] == "hf" for spec in config["seeds"]["languages"].values())

CACHE_DIR = config["cache_dir"]
CORPUS = config["seeds"]["corpus"]
TEACHER = config["teacher"]["name"]
TEACHERS = teacher_names(config)
STUDENTS = list(config["students"])
RUNS = list(config["runs"])
MODELS = STUDENTS + RUNS
TABLE1_MODELS = table_models(config)
EVALUATED = evaluated_models(config)
BENCHMARKS = config["evaluate"]["benchmarks"]
EVAL_SHARDS = shard_names(config["evaluate"]["shards"])


# Each rule's params are what decides its output (ossinstruct.settings: the schema's how-keys are
# left out, and the adapters read them when the job runs), so that naming another model or changing
# how scoring runs never reruns a generation job (GPU time).
def eval_generation_settings(wildcards):
    """What decides a model's completions: the generation keys and the model's prompt format."""
    return stage_what(config, "samples", model=wildcards.model)


def eval_scoring_settings(wildcards):
    return stage_what(config, "scoring", model=wildcards.model)


SFT_IMPORTS = list(config["sft_data"])


wildcard_constraints:
    corpus=re.escape(CORPUS),
    teacher="|".join(map(re.escape, TEACHERS)),
    run="|".join(map(re.escape, RUNS)),
    model="|".join(map(re.escape, MODELS)),
    benchmark="|".join(BENCHMARKS),
    shard=r"\d+-of-\d+",
    data="|".join(map(re.escape, SFT_IMPORTS)) or "(?!)",


def teacher_gpus(wildcards):
    """A vLLM/SGLang teacher runs on the job's GPUs; a hosted or llama.cpp teacher needs none."""
    teacher = teacher_config(config, wildcards.teacher)
    return teacher["serve"]["gpus"] if teacher["server"] in ("vllm", "sglang") else 0


# SLURM resources that follow from the configuration (`cluster`; profiles/slurm sizes the rest). They
# say only where a job runs: Snakemake reruns nothing when they change.
def gpu_partition(gpus_of):
    """A job's partition: `cluster.gpu_partition` when it holds GPUs, else `cluster.cpu_partition`."""
    return lambda wildcards: config["cluster"]["gpu_partition" if gpus_of(wildcards) else "cpu_partition"]


def teacher_size(wildcards):
    """{cpus, mem_mb} of a teacher's job, for the server it starts: hosted (it only sends requests),
    a model on the CPU (llama.cpp, or vLLM's CPU build), or serve.gpus GPUs (vLLM, SGLang)."""
    sizes = config["cluster"]["teacher"]
    gpus = teacher_gpus(wildcards)
    if gpus:
        return {key: value * gpus for key, value in sizes["per_gpu"].items()}
    return sizes["hosted" if teacher_config(config, wildcards.teacher)["server"] == "openai" else "cpu"]


TEACHER_RESOURCES = dict(
    gpu=teacher_gpus,
    slurm_partition=gpu_partition(teacher_gpus),
    cpus_per_task=lambda wildcards: teacher_size(wildcards)["cpus"],
    mem_mb=lambda wildcards: teacher_size(wildcards)["mem_mb"],
    runtime=config["cluster"]["teacher"]["runtime"],
)


def teacher_model_inputs(wildcards):
    """A vLLM/SGLang teacher given as a GGUF file is served from the folder export_teacher_hf makes."""
    teacher = teacher_config(config, wildcards.teacher)
    return {"model": teacher_folder(wildcards.teacher)} if served_gguf(teacher) else {}


def teacher_request_settings(wildcards):
    """What decides a teacher's answers; for another teacher also how many seeds it answers."""
    return stage_what(config, "generate", teacher=wildcards.teacher)


def seed_corpus_files(wildcards):
    """The JSONL corpora the seeds are drawn from (a changed corpus draws again); a Hugging Face
    dataset or a local tree is read by the job."""
    return [spec["jsonl"] for spec in config["seeds"]["languages"].values() if spec["source"] == "jsonl"]


def teacher_shard_files(wildcards):
    shards = shard_names(teacher_config(config, wildcards.teacher)["shards"])
    folder = f"results/generate/{wildcards.teacher}/shards"
    return {
        "responses": [f"{folder}/{shard}/responses.jsonl" for shard in shards],
        "reports": [f"{folder}/{shard}/report.json" for shard in shards],
    }


def validation_shard_files(wildcards):
    folder = f"results/validate/{wildcards.teacher}/shards"
    shards = shard_names(config["validate"]["shards"])
    return {
        name: [f"{folder}/{shard}/{file}" for shard in shards]
        for name, file in (
            ("validated", "validated.jsonl"),
            ("excluded", "validated_excluded.jsonl"),
            ("reports", "validated_report.json"),
        )
    }


CURATE_SHARDS = shard_names(config["curate"]["shards"])


def curation_shard_files(*files):
    """{name: the file of every curation shard}: the inputs of a curation step's merge."""

    def inputs(wildcards):
        folder = f"results/curate/{wildcards.teacher}/shards"
        return {name: [f"{folder}/{shard}/{file}" for shard in CURATE_SHARDS] for name, file in files}

    return inputs


def analysis_shard_files(*files):
    """{name: the file of every shard of the data study (curate.shards)}: the inputs of its merges."""

    def inputs(wildcards):
        folder = f"results/analysis/{wildcards.teacher}/shards"
        return {name: [f"{folder}/{shard}/{file}" for shard in CURATE_SHARDS] for name, file in files}

    return inputs


def curation_report(teacher):
    return f"results/curate/{teacher}/report.json"


BENCHMARK_SOURCES = benchmark_sources(config)


def decontamination_inputs(wildcards):
    """The benchmark families' local files and folders (a Hub dataset, `hf:`, is fetched by the job)."""
    return {name: source for name, source in BENCHMARK_SOURCES.items() if not is_hub(source)}


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
    """What the evaluation of `model` reads: a run's weights (as GGUF for llama.cpp); for a student,
    nothing, or under vLLM the Hugging Face folder made from a GGUF-only student's file."""
    if wildcards.model not in config["runs"]:
        if config["evaluate"]["backend"] == "vllm" and not config["students"][wildcards.model]["path"]:
            return {"model": f"results/students/{wildcards.model}/hf"}
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
    if config["evaluate"]["backend"] == "vllm" and not student["path"]:
        return input.model
    return student["path"] or student["gguf"]


def eval_gpus(wildcards):
    return config["evaluate"]["gpus"]


def with_placeholders(spec):
    """`{corpus}` and `{teacher}` in a data set's source name this config's seed corpus and teacher,
    so that a workflow output (the comment-function pairs, a language part) can be a source."""
    return {**spec, "source": spec["source"].replace("{corpus}", CORPUS).replace("{teacher}", TEACHER)}


SFT_DATA = {name: with_placeholders(spec) for name, spec in config["sft_data"].items()}


def compared_sets(wildcards):
    """Figure 3's other sets: `sft_data` names, imported and decontaminated like training data."""
    return [f"results/sft/{name}.jsonl" for name in config["analysis"]["compare"]]


def sft_data_source(wildcards):
    """An imported set read from a file: an input, so that a workflow output gets built first and an
    edited file is imported again. A hub data set (`hf:`) is fetched by the job."""
    source = SFT_DATA[wildcards.data]["source"]
    return [] if dataset_source(source) is not None else [source]


def ablation_table_rows(table):
    """Each row of a table's reproduction: the files its columns come from (see tables.ablation_row)."""
    models = config["tables"][table]["models"]
    if not models:
        raise WorkflowError(f"config key 'tables.{table}.models' is empty: name the students and runs to compare")
    multipl_e = "multipl_e" in ABLATION_TABLES[table]
    return [
        {
            "model": model,
            "data": config["runs"][model]["data"] if model in config["runs"] else "-",
            "evalplus": {b: f"results/eval/{model}/{b}/scores.json" for b in table_benchmarks(table)},
            "multipl_e": {
                language: f"results/multipl-e-greedy/{model}/{language}/scores.json"
                for language in (config["multipl_e"]["languages"] if multipl_e else [])
            },
            "train_metrics": f"results/models/{model}/train_metrics.json" if model in config["runs"] else None,
        }
        for model in models
    ]


def ablation_table_inputs(table):
    rows = ablation_table_rows(table)
    files = [path for row in rows for group in ("evalplus", "multipl_e") for path in row[group].values()]
    return files + [row["train_metrics"] for row in rows if row["train_metrics"]]


# The explorer (rules/explore.smk)
_REPLAY = stage_what(config, "replay")
EXPLORE_REPLAY = {"enabled": _REPLAY["replay"], "timeout_s": _REPLAY["replay_timeout_s"]}


def explore_teacher_inputs(wildcards):
    """What a teacher's journey is read from: the stages' kept and excluded rows, the analysis's per-row
    files, the fine-tuning set, the benchmark files the matched strings come from and, when
    validation is on, its verdicts."""
    folder = f"results/curate/{wildcards.teacher}"
    inputs = {
        "seeds": f"results/seeds/{CORPUS}.jsonl",
        "responses": f"results/generate/{wildcards.teacher}/responses.jsonl",
        "parsed_excluded": f"{folder}/parsed_excluded.jsonl",
        "clean_excluded": f"{folder}/clean_excluded.jsonl",
        "decontaminated": f"{folder}/decontaminated.jsonl",
        "decontaminated_excluded": f"{folder}/decontaminated_excluded.jsonl",
        "report": curation_report(wildcards.teacher),
        "categories": f"results/analysis/{wildcards.teacher}/categories.jsonl",
        "similarity": f"results/analysis/{wildcards.teacher}/similarity.jsonl",
        "sft": f"results/sft/{wildcards.teacher}.jsonl",
        **decontamination_inputs(wildcards),
    }
    if config["validate"]["enabled"]:
        inputs["validated"] = f"results/validate/{wildcards.teacher}/validated.jsonl"
        inputs["validated_excluded"] = f"results/validate/{wildcards.teacher}/validated_excluded.jsonl"
    return inputs


def explore_sample(wildcards):
    """The seeds a teacher answered: all, or `teachers.<name>.seeds` of them (Table 7's weaker teacher)."""
    other = config["teachers"].get(wildcards.teacher, {})
    return {"seeds": other["seeds"], "sample_seed": other["sample_seed"]} if other.get("seeds") else {}


def explore_eval_specs():
    """EvalPlus results of every evaluated model and the MultiPL-E outcomes `explore.multipl_e` names."""
    evalplus = [
        {
            "model": model,
            "benchmark": benchmark,
            "dataset": config["evaluate"]["datasets"][benchmark],
            **{
                name: f"results/eval/{model}/{benchmark}/{file}"
                for name, file in (
                    ("samples", "samples.jsonl"),
                    ("results", "samples_eval_results.json"),
                    ("scores", "scores.json"),
                )
            },
        }
        for model in EVALUATED
        for benchmark in BENCHMARKS
    ]
    unknown = [entry for entry in config["explore"]["multipl_e"] if Path(entry).parts[1] not in MODELS]
    if unknown:
        raise WorkflowError(
            f"config key 'explore.multipl_e': {', '.join(unknown)} names no model of `students` or `runs`"
        )
    multipl_e = [
        {
            "decoding": Path(entry).parts[0],
            "model": Path(entry).parts[1],
            "language": language,
            "samples": f"results/{entry}/{language}/samples.jsonl",
            "results": f"results/{entry}/{language}/results.jsonl",
        }
        for entry in config["explore"]["multipl_e"]
        for language in config["multipl_e"]["languages"]
    ]
    return {"evalplus": evalplus, "multipl_e": multipl_e}


def explore_models():
    """Each evaluated model: a student, or a run with its base and data."""
    return [
        (
            {
                "model": model,
                "kind": "run",
                "base": config["runs"][model]["base"],
                "data": config["runs"][model]["data"],
            }
            if model in config["runs"]
            else {"model": model, "kind": "student", "base": None, "data": None}
        )
        for model in dict.fromkeys(EVALUATED + [Path(entry).parts[1] for entry in config["explore"]["multipl_e"]])
    ]
