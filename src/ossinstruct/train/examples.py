"""Training examples: a prompt and response tokenized with the prompt's labels masked (the paper trains
on the response only), truncated to `max_length`, and padded into batches. A training's examples are
tokenized once, before its processes start, into an Arrow file that each process memory-maps."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

IGNORE_INDEX = -100


def tokenize_example(tokenizer, prompt: str, response: str, max_length: int) -> dict:
    """input_ids, labels (the prompt masked with -100) and whether the row was truncated: BOS + prompt,
    then response + EOS, as the paper's `train.py`."""
    prompt_ids = tokenizer.encode(prompt, add_special_tokens=False)
    response_ids = tokenizer.encode(response, add_special_tokens=False)
    return _example(tokenizer, prompt_ids, response_ids, max_length)


def _example(tokenizer, prompt_ids: list[int], response_ids: list[int], max_length: int) -> dict:
    """`tokenize_example` from the prompt's and the response's ids (without special tokens)."""
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    prompt_ids, response_ids = bos + prompt_ids, response_ids + [tokenizer.eos_token_id]
    return {
        "input_ids": (prompt_ids + response_ids)[:max_length],
        "labels": ([IGNORE_INDEX] * len(prompt_ids) + response_ids)[:max_length],
        "truncated": len(prompt_ids) + len(response_ids) > max_length,
    }


def pad_batch(features: list[dict], pad_id: int) -> dict:
    """Right padding to the longest row of the batch; padded labels are -100 (no packing)."""
    import torch

    longest = max(len(feature["input_ids"]) for feature in features)
    input_ids, labels, attention = [], [], []
    for feature in features:
        gap = longest - len(feature["input_ids"])
        input_ids.append(feature["input_ids"] + [pad_id] * gap)
        labels.append(feature["labels"] + [IGNORE_INDEX] * gap)
        attention.append([1] * len(feature["input_ids"]) + [0] * gap)
    return {
        "input_ids": torch.tensor(input_ids),
        "labels": torch.tensor(labels),
        "attention_mask": torch.tensor(attention),
    }


# The examples of a training, tokenized once before any training process starts, in an Arrow file that
# every process memory-maps (`datasets.Dataset.from_file`): no rank holds the rows or their ids in
# Python lists, and a resumed training reads the file its first try wrote.
BATCH_ROWS = 1000


def _schema():
    import pyarrow as pa

    return pa.schema([("input_ids", pa.list_(pa.int32())), ("labels", pa.list_(pa.int32())), ("truncated", pa.bool_())])


def _batch_examples(tokenizer, pairs: list[tuple[str, str]], max_length: int) -> list[dict]:
    """`tokenize_example` of each (prompt, response), the tokenizer called once for the batch."""
    prompts = tokenizer([prompt for prompt, _ in pairs], add_special_tokens=False)["input_ids"]
    responses = tokenizer([response for _, response in pairs], add_special_tokens=False)["input_ids"]
    return [_example(tokenizer, *ids, max_length) for ids in zip(prompts, responses, strict=True)]


def write_examples(pairs, tokenizer, max_length: int, path) -> dict:
    """Each (prompt, response) of the iterable as `tokenize_example` makes it, streamed into the Arrow
    file `path` (written whole or not at all) a batch at a time. Returns the counts a training
    reports: rows, truncated rows, tokens and trained (unmasked) tokens."""
    import pyarrow as pa

    from ..io import atomic_writer

    counts = {"rows": 0, "truncated_rows": 0, "tokens": 0, "trained_tokens": 0}
    schema = _schema()
    handle, tmp = atomic_writer(path, text=False)
    with handle, pa.ipc.new_stream(handle, schema) as stream:
        batch: list[tuple[str, str]] = []
        for pair in pairs:
            batch.append(pair)
            if len(batch) == BATCH_ROWS:
                _write_batch(stream, schema, _batch_examples(tokenizer, batch, max_length), counts)
                batch = []
        if batch:
            _write_batch(stream, schema, _batch_examples(tokenizer, batch, max_length), counts)
    os.replace(tmp, path)
    return counts


def _write_batch(stream, schema, examples: list[dict], counts: dict) -> None:
    import pyarrow as pa

    stream.write_batch(pa.RecordBatch.from_pylist(examples, schema=schema))
    for example in examples:
        length = len(example["input_ids"])
        counts["rows"] += 1
        counts["truncated_rows"] += example["truncated"]
        counts["tokens"] += length
        counts["trained_tokens"] += sum(1 for label in example["labels"] if label != IGNORE_INDEX)


def read_examples(path):
    """The examples file memory-mapped as a `datasets.Dataset` (rows read from disk as they are asked for)."""
    import datasets

    return datasets.Dataset.from_file(str(path), in_memory=False)


def prepare(pairs: Iterable[tuple[str, str]], student: dict, max_length: int, folder) -> Path:
    """`folder/examples.arrow` (the examples of these (prompt, response) pairs for `student`'s tokenizer)
    and its counts in `folder/examples.json`, written unless an earlier try of this training (the same
    folder: `train.checkpoint_dir` is keyed by the data and the settings) left both."""
    from ..io import read_json, write_json
    from .student import load_tokenizer

    path, counts_path = Path(folder) / "examples.arrow", Path(folder) / "examples.json"
    if path.exists() and counts_path.exists():  # the counts are written last
        log.info("examples: %s rows already tokenized in %s", read_json(counts_path)["rows"], path)
        return path
    Path(folder).mkdir(parents=True, exist_ok=True)
    counts = write_examples(pairs, load_tokenizer(student), max_length, path)
    write_json(counts_path, counts)
    log.info("examples: %d rows tokenized into %s (%d tokens)", counts["rows"], path, counts["tokens"])
    return path


def example_counts(path) -> dict:
    """The counts `prepare` wrote beside the examples file."""
    from ..io import read_json

    return read_json(Path(path).with_suffix(".json"))
