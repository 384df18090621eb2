"""Stage 5, fine-tuning a student (paper §3, method §6) with the transformers Trainer.

Reads `results/sft/{dataset}.jsonl`; writes the model folder `results/models/{run}/` and
`train_metrics.json` (loss curve, tokens/s, truncated rows). Intermediate checkpoints go to a
folder passed in by the caller, outside the declared outputs, so a crashed or killed run resumes
from its last checkpoint instead of starting over.

- `examples`: the rows tokenized once, before any training process starts, into a memory-mapped Arrow file;
- `student`: loading a base model (a GGUF file or a Hugging Face folder) and its FLOPs;
- `trainer`: one training process (`train_student`), resumable from its last checkpoint;
- `distributed`: several processes through `accelerate launch` (DDP), `python -m ossinstruct.train.distributed`;
- here: the stage's entry point, `run(...)`, and where its checkpoints live (`checkpoint_dir`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

from ..config import join_how, split_how
from ..io import DataError, iter_jsonl_numbered, require_fields, write_json
from .distributed import launch_training, training_processes
from .examples import prepare
from .trainer import train_student


def _fingerprint(*parts) -> str:
    """Of bytes, of a file's bytes (a Path: read a MiB at a time, never held whole) or of JSON values."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            with open(part, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
        else:
            digest.update(part if isinstance(part, bytes) else json.dumps(part, sort_keys=True).encode())
    return digest.hexdigest()[:12]


def checkpoint_dir(cache_dir: str, settings: dict, sft: str, base_metrics: str | None = None) -> Path:
    """Where run `settings["run"]` keeps its checkpoints and its tokenized examples: outside the outputs
    (Snakemake deletes those before a job), keyed by what decides the weights (the settings without
    `HOW_KEYS["train"]`, the data and, for a run that continues another, the base run's record), so a
    resumed run never continues someone else's training and a changed `save_steps` keeps the checkpoints."""
    what = split_how("train", settings)[0]
    base = Path(base_metrics).read_bytes() if base_metrics else b""
    return Path(cache_dir) / "checkpoints" / f"{settings['run']}-{_fingerprint(what, Path(sft), base)}"


def _pairs(sft: str):
    """(prompt, response) of each row of the training set, streamed; a row without the fields its
    format needs (the first row's decides: instruction or completion) is an error naming the line."""
    from ..sft import FORMAT_COLUMNS, training_text

    columns = None
    for number, row in iter_jsonl_numbered(sft):
        if columns is None:
            columns = FORMAT_COLUMNS["completion"] if "prompt" in row else FORMAT_COLUMNS["instruction"]
        require_fields(sft, number, row, columns)
        yield training_text(row)


def run(
    *,
    sft: str,
    model_dir: str,
    metrics: str,
    settings: dict,
    cache_dir: str,
    how: dict | None = None,
    threads: int = 2,
    base_metrics: str | None = None,
) -> None:
    """Stage 5: fine-tune run `settings["run"]` on `sft`, resuming from its last checkpoint. `settings`
    decide the weights; `how` (`HOW_KEYS["train"]`, e.g. `save_steps`) only how the job runs."""
    checkpoints = checkpoint_dir(cache_dir, settings, sft, base_metrics)
    settings = join_how(settings, how or {})
    pairs = _pairs(sft)
    first = next(pairs, None)  # an empty set is refused before the tokenizer loads
    if first is None:
        raise DataError(
            f"{sft}: the training set is empty, so run {settings['run']!r} has nothing to learn from. For an "
            "OSS-Instruct set, results/curate/<teacher>/report.json says which step dropped the rows (a small "
            "teacher with the paper's teacher.demonstration: none writes almost no parseable answer); for an "
            "execution-validated set, results/validate/<teacher>/validated_report.json gives each pair's verdict "
            "(a small teacher's tests rarely pass)"
        )
    # Tokenized once, here, before any training process starts; every process memory-maps the file.
    examples = prepare(itertools.chain([first], pairs), settings["student"], settings["max_length"], checkpoints)
    processes = training_processes(settings["gpus"])
    if processes > 1:
        summary = launch_training(str(examples), settings, model_dir, str(checkpoints), threads, processes)
    else:
        summary = train_student(str(examples), settings, model_dir, str(checkpoints), threads)
    summary["checkpoint_dir"] = str(checkpoints)
    summary["base"] = settings.get("base")
    summary["data"] = settings.get("data")
    write_json(metrics, summary)
