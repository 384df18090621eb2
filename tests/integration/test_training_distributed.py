"""`train.gpus: 2` trains in two data-parallel processes through `accelerate launch`. Without a GPU
the same launcher runs two CPU processes (gloo), so the real path is tested here: the gradient
accumulation comes from the world size, the global batch and optimizer steps stay those of one
process, and the main process alone writes the model, which loads."""

from __future__ import annotations

import logging

import pytest

from ossinstruct.io import read_json, write_jsonl

from ..conftest import SMOLLM2
from ..sections import section

pytestmark = [pytest.mark.slow, pytest.mark.extended]


def test_two_processes_keep_the_global_batch_and_write_one_model(tmp_path, caplog):
    from transformers import AutoModelForCausalLM

    from ossinstruct import train

    rows = [
        {"instruction": f"Write a solution to the following coding problem:\nReturn {i}.", "response": f"return {i}"}
        for i in range(8)
    ]
    write_jsonl(tmp_path / "sft.jsonl", rows)
    settings = {
        "run": "ddp",
        "student": {"gguf": SMOLLM2},
        "max_length": 64,
        "epochs": 1,
        "max_steps": 0,
        "per_device_batch_size": 1,
        "global_batch_size": 4,
        "learning_rate": 5e-5,
        "lr_scheduler": "linear",
        "warmup_steps": 0,
        "optimizer": "adafactor",
        "max_grad_norm": None,
        "bf16": False,
        "seed": 42,
        "save_steps": 1000,
        "packing": False,
        "liger": False,
        "attention": "sdpa",
        "loss_weighting": "micro_batch",
        "gpus": 2,
    }
    settings = section("train", settings)  # the schema's defaults, as a validated config has them
    with caplog.at_level(logging.INFO, logger="ossinstruct.train"):
        train.run(
            sft=str(tmp_path / "sft.jsonl"),
            model_dir=str(tmp_path / "model"),
            metrics=str(tmp_path / "metrics.json"),
            settings=settings,
            cache_dir=str(tmp_path / "cache"),
            threads=2,
        )
    metrics = read_json(tmp_path / "metrics.json")
    assert metrics["devices"] == 2
    assert metrics["gradient_accumulation_steps"] == 2  # 4 rows = 2 processes x 1 row x 2 steps
    assert metrics["effective_batch_size"] == 4
    assert metrics["optimizer_steps"] == 2  # 8 rows / 4, as in one process
    assert metrics["tokens_per_s"] > 0 and len(metrics["loss_curve"]) == 2
    # Both processes trained and logged into this stage's log; the launch is recorded.
    assert "accelerate.commands.launch" in caplog.text and "--num_processes 2" in caplog.text
    assert "rank 1 INFO process 1 of 2: 8 rows" in caplog.text and "rank 0 INFO process 0 of 2" in caplog.text
    # Tokenized once, before the launch, into the file both processes memory-map.
    assert caplog.text.count("rows tokenized into") == 1 and "already tokenized" not in caplog.text
    launch = read_json(metrics["checkpoint_dir"] + "/launch.json")
    assert launch["examples"] == metrics["checkpoint_dir"] + "/examples.arrow" and "sft" not in launch
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "model")
    assert model.config.use_cache is True
    assert (tmp_path / "model" / "tokenizer_config.json").exists()
