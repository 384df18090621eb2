from ossinstruct.sft import MAGICODER_PROMPT, prompt_text, to_sft_row, training_text
from ossinstruct.train.examples import IGNORE_INDEX, pad_batch, tokenize_example


def test_template_is_the_magicoders():
    sft = to_sft_row({"problem": "Add two numbers.", "solution": "def add(a, b):\n    return a + b"})
    assert sft["instruction"] == "Write a solution to the following coding problem:\nAdd two numbers."
    assert sft["response"] == "def add(a, b):\n    return a + b"
    text = MAGICODER_PROMPT.format(instruction=sft["instruction"], response=sft["response"])
    assert text == (
        "You are an exceptionally intelligent coding assistant that consistently delivers accurate and "
        "reliable responses to user instructions.\n\n@@ Instruction\nWrite a solution to the following "
        "coding problem:\nAdd two numbers.\n\n@@ Response\ndef add(a, b):\n    return a + b"
    )
    assert prompt_text("I").endswith("@@ Response\n")


def test_loss_mask_prompt_ignored_response_and_eos_trained(smol_tokenizer):
    tok = smol_tokenizer
    instruction = "Write a solution to the following coding problem:\nSay hi."
    example = tokenize_example(tok, *training_text({"instruction": instruction, "response": "print('hi')"}), 4096)
    prompt_ids = [tok.bos_token_id] + tok.encode(
        prompt_text("Write a solution to the following coding problem:\nSay hi."), add_special_tokens=False
    )
    response_ids = tok.encode("print('hi')", add_special_tokens=False)
    assert example["input_ids"] == prompt_ids + response_ids + [tok.eos_token_id]
    assert example["input_ids"][0] == tok.bos_token_id
    assert example["labels"][: len(prompt_ids)] == [IGNORE_INDEX] * len(prompt_ids)
    assert example["labels"][len(prompt_ids) :] == response_ids + [tok.eos_token_id]
    assert example["truncated"] is False


def test_truncation_cuts_and_reports(smol_tokenizer):
    example = tokenize_example(smol_tokenizer, prompt_text("short"), "word " * 500, 64)
    assert len(example["input_ids"]) == len(example["labels"]) == 64
    assert example["truncated"] is True


def test_pad_batch_pads_right_with_ignored_labels():
    batch = pad_batch([{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [8], "labels": [8]}], pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [8, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_effective_batch_arithmetic():
    from ossinstruct.train.trainer import gradient_accumulation

    # The paper's run: 2 GPUs x 2 rows x 128 steps = 512.
    assert gradient_accumulation(512, 2, 2) == 128
    assert gradient_accumulation(512, 2, 1) == 256
    assert gradient_accumulation(512, 4, 8) == 16
    # Not divisible: the smallest accumulation that reaches the global batch.
    assert gradient_accumulation(512, 5, 3) == 35
    assert gradient_accumulation(8, 16, 1) == 1


def test_an_imported_set_keeps_its_text_or_takes_the_oss_instruct_template(tmp_path):
    """`sft_data.<name>.format`: instruction sets (evol-codealpaca) are used as they are; problem and
    solution rows (the ablations' data) get exactly the template of the OSS-Instruct rows."""
    import pytest

    from ossinstruct.io import write_jsonl
    from ossinstruct.sft import load_instruction_data, to_sft_row

    rows = [{"problem": "Add a and b.", "solution": "def add(a, b):\n    return a + b"}]
    write_jsonl(tmp_path / "part.jsonl", rows)
    spec = {"source": str(tmp_path / "part.jsonl"), "instruction": "problem", "response": "solution", "limit": None}
    plain = load_instruction_data("part", {**spec, "format": "instruction"})
    pairs = load_instruction_data("part", {**spec, "format": "completion"})  # Table 6: no template
    assert pairs[0] == {"id": "part-0", "prompt": "Add a and b.", "completion": rows[0]["solution"]}
    assert training_text(pairs[0]) == ("Add a and b.", rows[0]["solution"])
    templated = load_instruction_data("part", {**spec, "format": "oss-instruct"})
    assert plain[0]["instruction"] == "Add a and b."
    expected = to_sft_row(rows[0])
    assert (templated[0]["instruction"], templated[0]["response"]) == (expected["instruction"], expected["response"])
    write_jsonl(tmp_path / "bad.jsonl", [*rows, {"problem": "No solution."}])
    with pytest.raises(ValueError, match=r"sft_data.bad: .*bad.jsonl row 2 has no text column 'solution'"):
        load_instruction_data("bad", {**spec, "source": str(tmp_path / "bad.jsonl"), "format": "instruction"})
