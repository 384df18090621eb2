"""The one settings path: a stage's settings as `(what, how)`, from the validated config.

`what` decides the stage's output. It is the rule's `params` (a change reruns the job and what
follows it), and it is what cache keys are made of. `how` only says how the job runs: the keys the
schema marks `x-how: true` (`config.HOW_KEYS`), and the whole how-sections a stage reads (the
sandbox). The adapter reads `how` from the config when the job runs, so changing it reruns nothing.
The rules (`params:`), the adapters in `scripts/` and the command line (`cli`) all take a stage's
settings from `stage_settings`, and `what` joined with `how` is the section as the stage reads it
(`view`).

A stage reads one section, or the keys of it that decide its output (`Stage.keys`, in the order the
rule's params have always had them: Snakemake compares params as written, so a reordering would
rerun finished jobs once). A teacher, a run and a model are named (`teacher=`, `run=`, `model=`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from .config import HOW_KEYS, canonical, join_how, split_keys
from .models import prompt_format, request_settings, run_settings, teacher_config

# The limits that decide a validation verdict (per pair: wall clock, memory, processes, output).
LIMIT_KEYS = ("timeout_s", "memory_mb", "processes", "output_bytes")
# What decides a teacher's tests and solutions (validation), besides the teacher's own settings.
TEST_REQUEST_KEYS = ("prompts", "demonstration", "solutions", "solution_temperature", "max_new_tokens")
# What decides a model's benchmark completions (with its prompt format); the scoring reads the rest.
GENERATION_KEYS = (
    "datasets",
    "limit",
    "max_new_tokens",
    "completion_stop",
    "repeat_penalty",
    "backend",
    "llama_cpp_sequences",
    "batch_size",
    "gpus",
    "vllm",
)


@dataclass(frozen=True)
class Stage:
    section: str  # a top-level config section, or a dotted one (`ablation.comment_function`)
    keys: tuple[str, ...] | None = None  # the section's keys that decide the output (None: every what-key)
    how_sections: tuple[str, ...] = ()  # whole how-sections the job also reads (`sandbox`)
    sorted_keys: bool = False  # params written with sorted keys (config.canonical)


STAGES = {
    "seeds": Stage("seeds"),
    "generate": Stage("teacher", sorted_keys=True),  # teacher=
    "parse": Stage("curate", ("parser",)),
    "clean": Stage("curate", ("shuffle_seed", "minhash")),
    "decontaminate": Stage("curate", ("columns", "fix_allow_list", "ngram_overlap")),
    "decontaminate_sft_data": Stage("curate", ("fix_allow_list", "ngram_overlap")),
    "tests": Stage("validate", TEST_REQUEST_KEYS, sorted_keys=True),  # the teacher's own: stage "generate"
    "validate": Stage("validate", LIMIT_KEYS, how_sections=("sandbox",), sorted_keys=True),
    "train": Stage("train", sorted_keys=True),  # run=
    "samples": Stage("evaluate", GENERATION_KEYS, sorted_keys=True),  # model=
    "scoring": Stage("evaluate", how_sections=("sandbox",), sorted_keys=True),  # model=
    "multipl_e": Stage(
        "multipl_e", ("samples", "temperature", "top_p", "max_length", "seed", "limit", "skip_missing_toolchains")
    ),
    # the backend MultiPL-E generates with (batch_size only where it decides anything: transformers)
    "multipl_e_backend": Stage("evaluate", ("backend", "gpus", "vllm"), sorted_keys=True),
    "multipl_e_execute": Stage("multipl_e", ("limit", "timeout_s", "toolchain"), how_sections=("sandbox",)),
    "similarity": Stage("analysis", ("compare",)),
    "lengths": Stage("analysis", ("tokenizer",)),
    "categories": Stage("analysis", ("embedding_model", "embedding_batch_size", "embedding_dtype")),
    "comment_function": Stage("ablation.comment_function"),
    "card_teacher": Stage("teacher", sorted_keys=True),  # what the dataset card states of the teacher
    "replay": Stage("explore", ("replay", "replay_timeout_s"), how_sections=("sandbox",)),
}


def _section(config: dict, stage: str, teacher: str | None, run: str | None) -> dict:
    """The whole config section a stage reads: a named teacher's merged section (with its `seeds`
    sample when it answers only some), a run's settings, or the section as validated."""
    if stage == "generate":
        if teacher is None:
            raise TypeError("stage 'generate' takes teacher=")
        section = copy.deepcopy(teacher_config(config, teacher))
        other = config["teachers"].get(teacher, {})
        if other.get("seeds"):  # another teacher may answer only N seeds (Table 7)
            section |= {"seeds": other["seeds"], "sample_seed": other["sample_seed"]}
        return section
    if stage == "train":
        if run is None:
            raise TypeError("stage 'train' takes run=")
        return run_settings(config, run)
    section = config
    for part in STAGES[stage].section.split("."):
        section = section[part]
    return copy.deepcopy(section)


def _how_keys(section: str) -> tuple[str, ...]:
    """The how-keys of a (possibly dotted) section, relative to it."""
    top, _, rest = section.partition(".")
    prefix = f"{rest}." if rest else ""
    return tuple(key[len(prefix) :] for key in HOW_KEYS.get(top, ()) if key.startswith(prefix))


def _split(section: str, settings: dict) -> tuple[dict, dict]:
    return split_keys(settings, _how_keys(section))


def view(config: dict, stage: str, *, teacher: str | None = None, run: str | None = None) -> dict:
    """The settings a stage reads, as the validated config has them: the section (or its `keys`), every
    how-key of it, and each of its how-sections under its own name."""
    spec = STAGES[stage]
    section = _section(config, stage, teacher, run)
    if spec.keys is not None:
        how = _split(spec.section, section)[1]
        keys = spec.keys
        if stage == "multipl_e_backend" and section["backend"] == "transformers":
            keys += ("batch_size",)  # only where it decides anything, so no other backend reruns
        # a key without a schema default may be absent (validate.prompts): None, as the rule always had it
        section = join_how({key: section.get(key) for key in keys}, how)
    return section | {name: copy.deepcopy(config[name]) for name in spec.how_sections}


def stage_settings(
    config: dict, stage: str, *, teacher: str | None = None, run: str | None = None, model: str | None = None
) -> tuple[dict, dict]:
    """`(what, how)` of `stage`: `what` decides its output (the rule's params), `how` only says how
    the job runs. A model's evaluation also depends on its prompt format (`model=`)."""
    spec = STAGES[stage]
    settings = view(config, stage, teacher=teacher, run=run)
    sections = {name: settings.pop(name) for name in spec.how_sections}
    what, how = _split(spec.section, settings)
    how |= sections
    if stage == "generate":  # what decides the answers, a served model's name included
        what = request_settings(settings)
    if stage in ("samples", "scoring") and model is not None:  # the command line names the format itself
        what = {**what, "prompt_format": prompt_format(config, model)}
        if what["prompt_format"] == "magicoder":  # the Magicoder format ends at its fence
            del what["completion_stop"]
    if "batch_size" in what and stage == "multipl_e_backend":  # after the sorted keys, as always written
        return canonical({k: v for k, v in what.items() if k != "batch_size"}) | {"batch_size": what["batch_size"]}, how
    return (canonical(what) if spec.sorted_keys else what), how


def benchmark_sources(config: dict) -> dict:
    """The benchmark families decontamination searches, each with its file, folder or `hf:` id (a
    family without one is skipped, and the report says so)."""
    return {name: source for name, source in config["curate"]["benchmarks"].items() if source}


def what(config: dict, stage: str, **names) -> dict:
    """A rule's params: what decides the stage's output."""
    return stage_settings(config, stage, **names)[0]


def how(config: dict, stage: str, **names) -> dict:
    """What an adapter reads at run time: how the stage's job runs."""
    return stage_settings(config, stage, **names)[1]


def for_job(what_part: dict, config: dict, stage: str, **names) -> dict:
    """The settings a job runs with: its `what` (the rule's params) joined with its `how`, read now."""
    return join_how(what_part, how(config, stage, **names))
