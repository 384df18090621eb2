"""A training's examples are tokenized once, before its processes start, into an Arrow file that each
process memory-maps. Today's per-row `tokenize_example` is the oracle: the file holds exactly its
ids, labels and truncation flags, in the rows' order, whatever the batches."""

from __future__ import annotations

import logging

import pytest

from ossinstruct.io import write_jsonl
from ossinstruct.sft import training_text
from ossinstruct.train import examples as examples_module
from ossinstruct.train.examples import example_counts, prepare, read_examples, tokenize_example

from ..conftest import SMOLLM2

ROWS = [
    {"instruction": "Write a function that adds two numbers.", "response": "def add(a, b):\n    return a + b"},
    {"instruction": "Übersetze: ¿qué tal? 你好 🙂", "response": "```python\nprint('héllo')\n```"},
    {"instruction": "Count.", "response": " ".join(str(i) for i in range(200))},  # longer than max_length
    {"instruction": "", "response": ""},
    {"instruction": "Say hi.", "response": "hi"},
]


def test_the_examples_file_holds_exactly_the_per_row_tokenization_across_batches(tmp_path, monkeypatch, smol_tokenizer):
    monkeypatch.setattr(examples_module, "BATCH_ROWS", 2)  # rows 0-1, 2-3, 4: every batch boundary crossed
    max_length = 64
    path = prepare(map(training_text, ROWS), {"gguf": SMOLLM2}, max_length, tmp_path)
    expected = [tokenize_example(smol_tokenizer, *training_text(row), max_length) for row in ROWS]
    dataset = read_examples(path)
    assert [dataset[i] for i in range(len(dataset))] == expected
    assert expected[2]["truncated"] and expected[0]["input_ids"][0] == smol_tokenizer.bos_token_id
    assert example_counts(path) == {
        "rows": len(ROWS),
        "truncated_rows": 1,
        "tokens": sum(len(example["input_ids"]) for example in expected),
        "trained_tokens": sum(sum(label != -100 for label in example["labels"]) for example in expected),
    }


def test_every_process_reads_the_file_memory_mapped_not_into_memory(tmp_path):
    from datasets.table import MemoryMappedTable

    path = prepare(map(training_text, ROWS), {"gguf": SMOLLM2}, 64, tmp_path)
    dataset = read_examples(path)
    assert isinstance(dataset.data, MemoryMappedTable)
    assert [cache["filename"] for cache in dataset.cache_files] == [str(path)]


def test_a_resumed_training_reads_the_examples_its_first_try_tokenized(tmp_path, caplog):
    """`train.run` tokenizes into the run's checkpoint folder (keyed by the data and the settings): a
    second try of the same training finds the file and tokenizes nothing; a try that died while
    tokenizing (no counts yet) tokenizes again."""
    pairs = list(map(training_text, ROWS))
    with caplog.at_level(logging.INFO, logger="ossinstruct.train"):
        first = prepare(iter(pairs), {"gguf": SMOLLM2}, 64, tmp_path)
        written = first.read_bytes()
        again = prepare(iter(pytest.fail, None), {"gguf": SMOLLM2}, 64, tmp_path)  # must not read a row
    assert again == first and first.read_bytes() == written
    assert "5 rows already tokenized" in caplog.text
    first.with_suffix(".json").unlink()  # died after the file, before its counts
    prepare(iter(pairs), {"gguf": SMOLLM2}, 64, tmp_path)
    assert example_counts(first)["rows"] == 5


def test_the_stage_streams_the_training_set_and_names_a_bad_line(tmp_path):
    from ossinstruct.io import DataError
    from ossinstruct.train import _pairs

    sft = tmp_path / "sft.jsonl"
    write_jsonl(sft, [ROWS[0], {"instruction": "no response"}])
    pairs = _pairs(str(sft))
    assert next(pairs) == training_text(ROWS[0])  # the first row before the second is read
    with pytest.raises(DataError, match=r"sft.jsonl:2: row has no 'response' field"):
        next(pairs)
