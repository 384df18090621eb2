"""Stage 4, fine-tuning data (paper §3, method §6): the Magicoder template and the loss mask.

Reads decontaminated pairs; writes `results/sft/{dataset}.jsonl` rows with `instruction` and
`response`. `tokenize_example` turns one row into `input_ids`/`labels` exactly as the paper's
`train.py`: BOS + prompt (no EOS, labels -100), then response + EOS (trained), truncated to the
maximum length.
"""

from __future__ import annotations

from collections.abc import Iterable

from .io import write_jsonl
from .streams import Writer, dumps, shard_rows

SYSTEM = (
    "You are an exceptionally intelligent coding assistant that consistently delivers accurate "
    "and reliable responses to user instructions."
)
MAGICODER_PROMPT = SYSTEM + "\n\n@@ Instruction\n{instruction}\n\n@@ Response\n{response}"
INSTRUCTION_PREFIX = "Write a solution to the following coding problem:\n"


def to_sft_row(row: dict) -> dict:
    return {**row, "instruction": INSTRUCTION_PREFIX + row["problem"], "response": row["solution"]}


def to_sft_rows(rows: Iterable[dict]) -> list[dict]:
    return [to_sft_row(row) for row in rows]


def prompt_text(instruction: str, response_prefix: str = "") -> str:
    return MAGICODER_PROMPT.format(instruction=instruction, response=response_prefix)


# The columns a row of each fine-tuning format holds, and the ones decontamination reads (the raw text,
# before any template).
FORMAT_COLUMNS = {
    "instruction": ("instruction", "response"),
    "oss-instruct": ("problem", "solution"),
    "completion": ("prompt", "completion"),
}


def training_text(row: dict) -> tuple[str, str]:
    """(prompt, target) of a fine-tuning row: the Magicoder template around `instruction` and
    `response`, or a `completion`-format row's `prompt` and `completion` as they are (Table 6)."""
    if "instruction" in row:
        return prompt_text(row["instruction"]), row["response"]
    return row["prompt"], row["completion"]


def load_instruction_data(name: str, spec: dict) -> list[dict]:
    """The rows of a set named in `sft_data` (MagicoderS: evol-codealpaca), by its `format`:
    `instruction` rows `instruction`/`response`; `oss-instruct` rows `problem`/`solution` (the
    ablations' language parts), also templated exactly as the OSS-Instruct rows are (`to_sft_row`);
    `completion` rows `prompt`/`completion` (Table 6's comment-function pairs), trained as they are.

    `source` is a JSONL file, a dataset folder in a Hugging Face layout (read by `datasets` exactly
    as its Hub id would be) or `hf:<dataset id>` (streamed with `split` and `revision`); the
    `instruction` and `response` settings name its two columns (evol-codealpaca-v1: instruction, output).
    """

    from .io import iter_jsonl_numbered
    from .paths import dataset_source

    source, columns = spec["source"], (spec["instruction"], spec["response"])
    if dataset_source(source) is not None:
        import datasets

        dataset = dataset_source(source)[0]
        stream = datasets.load_dataset(dataset, split=spec["split"], revision=spec["revision"], streaming=True)
        numbered = ((i + 1, row) for i, row in enumerate(stream))
        where = f"{source} (split {spec['split']})"
    else:
        numbered = iter_jsonl_numbered(source)
        where = source
    rows = []
    for line, row in numbered:
        missing = [column for column in columns if not isinstance(row.get(column), str)]
        if missing:
            raise ValueError(
                f"sft_data.{name}: {where} row {line} has no text column {missing[0]!r} "
                f"(set sft_data.{name}.instruction / .response to its column names)"
            )
        first, second = FORMAT_COLUMNS[spec["format"]]
        record = {"id": f"{name}-{len(rows)}", first: row[columns[0]], second: row[columns[1]]}
        if spec["format"] == "oss-instruct":  # a problem and its solution, templated as OSS-Instruct rows
            record = to_sft_row(record)
        rows.append(record)
        if spec["limit"] and len(rows) >= spec["limit"]:
            break
    if not rows:
        raise ValueError(f"sft_data.{name}: {where} has no rows")
    return rows


def run(*, decontaminated: str, output: str) -> None:
    """The fine-tuning rows, streamed: one row in memory at any scale."""
    with Writer(output) as out:
        for row in shard_rows(decontaminated, require=("problem", "solution")):
            out.write(dumps(to_sft_row(row)))


def run_import(*, name: str, settings: dict, output: str) -> None:
    write_jsonl(output, load_instruction_data(name, settings))
