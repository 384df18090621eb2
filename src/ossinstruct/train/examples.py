"""Training examples: a prompt and response tokenized with the prompt's labels masked (the paper trains
on the response only), truncated to `max_length`, and padded into batches."""

from __future__ import annotations

IGNORE_INDEX = -100


def tokenize_example(tokenizer, prompt: str, response: str, max_length: int) -> dict:
    """input_ids, labels (the prompt masked with -100) and whether the row was truncated: BOS + prompt,
    then response + EOS, as the paper's `train.py`."""
    prompt_ids = tokenizer.encode(prompt, add_special_tokens=False)
    if tokenizer.bos_token_id is not None:
        prompt_ids = [tokenizer.bos_token_id] + prompt_ids
    response_ids = tokenizer.encode(response, add_special_tokens=False) + [tokenizer.eos_token_id]
    input_ids = (prompt_ids + response_ids)[:max_length]
    labels = ([IGNORE_INDEX] * len(prompt_ids) + response_ids)[:max_length]
    return {
        "input_ids": input_ids,
        "labels": labels,
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
