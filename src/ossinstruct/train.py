"""Stage 5, fine-tuning a student (paper §3, method §6) with the transformers Trainer.

Reads `results/sft/{dataset}.jsonl`; writes the model folder `results/models/{run}/` and
`train_metrics.json` (loss curve, tokens/s, truncated rows). Intermediate checkpoints go to a
folder passed in by the caller, outside the declared outputs, so a crashed or killed run resumes
from its last checkpoint instead of starting over.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

from .sft import IGNORE_INDEX, pad_batch, tokenize_example

log = logging.getLogger(__name__)


def load_student(spec: dict, dtype: str = "float32"):
    """A base model and tokenizer: a GGUF file (dequantized by transformers) or a HF folder/id."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = getattr(torch, dtype)
    if spec.get("gguf"):
        from .server import resolve_model_file

        path = resolve_model_file(spec["gguf"])
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch_dtype)
        # A dequantized GGUF model still carries its quantizer, which refuses save_pretrained.
        if getattr(model, "hf_quantizer", None) is not None:
            model.hf_quantizer.remove_quantization_config(model)
    else:
        tokenizer = AutoTokenizer.from_pretrained(spec["path"])
        model = AutoModelForCausalLM.from_pretrained(spec["path"], dtype=torch_dtype)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def gradient_accumulation(global_batch_size: int, per_device_batch_size: int, devices: int) -> int:
    """Steps to accumulate so that devices x per-device x steps reaches the global batch (paper: 512)."""
    return max(1, math.ceil(global_batch_size / (per_device_batch_size * devices)))


def make_collator(tokenizer, packing: bool):
    """Rows of a batch padded to the longest (the paper), or packed: concatenated into one sequence
    with no padding, position ids restarting at each row. transformers builds a block-diagonal mask
    from those position ids, so a row never attends to another (same loss as padding, less work)."""
    if packing:
        from transformers import DataCollatorWithFlattening

        return DataCollatorWithFlattening(return_position_ids=True, separator_id=IGNORE_INDEX)
    return lambda features: pad_batch(features, tokenizer.pad_token_id)


def check_liger(enabled: bool) -> None:
    if not enabled:
        return
    import importlib.util

    import torch

    if not torch.cuda.is_available() or importlib.util.find_spec("liger_kernel") is None:
        raise ValueError(
            "config key 'train.liger': Liger kernels need a CUDA GPU and the liger-kernel package "
            "(pip install liger-kernel); set it to false here"
        )


def last_checkpoint(folder: Path) -> str | None:
    """The newest complete checkpoint: a kill during a save leaves one without trainer_state.json."""
    complete = [path.parent for path in folder.glob("checkpoint-*/trainer_state.json")]
    complete.sort(key=lambda path: int(path.name.split("-")[-1]))
    return str(complete[-1]) if complete else None


def train_student(rows: list[dict], settings: dict, output_dir: str, checkpoint_dir: str, threads: int = 1) -> dict:
    import torch
    from torch.utils.data import Dataset
    from transformers import Trainer, TrainerCallback, TrainingArguments, set_seed

    torch.set_num_threads(max(1, threads))
    check_liger(settings.get("liger", False))
    set_seed(settings["seed"])
    model, tokenizer = load_student(settings["student"], "bfloat16" if settings["bf16"] else "float32")
    # No KV cache while training: it is useless there, and with one transformers ignores the restarting
    # position ids of packed rows (rows would attend to each other). Restored before saving.
    model.config.use_cache = False
    examples = [
        tokenize_example(tokenizer, row["instruction"], row["response"], settings["max_length"]) for row in rows
    ]
    if not examples:
        raise ValueError("train: the fine-tuning data set is empty (every row was dropped upstream)")
    truncated = sum(example["truncated"] for example in examples)
    trained_tokens = sum(sum(1 for label in example["labels"] if label != -100) for example in examples)
    total_tokens = sum(len(example["input_ids"]) for example in examples)

    class Rows(Dataset):
        def __len__(self):
            return len(examples)

        def __getitem__(self, i):
            return {"input_ids": examples[i]["input_ids"], "labels": examples[i]["labels"]}

    use_gpu = torch.cuda.is_available()
    devices = max(1, torch.cuda.device_count()) if use_gpu else 1
    per_device = settings["per_device_batch_size"]
    accumulation = gradient_accumulation(settings["global_batch_size"], per_device, devices)
    arguments = TrainingArguments(
        output_dir=checkpoint_dir,
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=accumulation,
        num_train_epochs=settings["epochs"],
        max_steps=settings["max_steps"] or -1,
        learning_rate=settings["learning_rate"],
        lr_scheduler_type=settings["lr_scheduler"],
        warmup_steps=settings["warmup_steps"],
        optim=settings["optimizer"],
        max_grad_norm=settings["max_grad_norm"] or 0.0,
        bf16=settings["bf16"],
        use_cpu=not use_gpu,
        logging_steps=1,
        save_strategy="steps",
        save_steps=settings["save_steps"],
        save_total_limit=2,
        report_to="none",
        seed=settings["seed"],
        remove_unused_columns=False,
        dataloader_num_workers=0,
        use_liger_kernel=settings.get("liger", False),
    )

    class Clock(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            self.started = time.monotonic()

    clock = Clock()
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=Rows(),
        data_collator=make_collator(tokenizer, settings.get("packing", False)),
        processing_class=tokenizer,
        callbacks=[clock],
    )
    resume = last_checkpoint(Path(checkpoint_dir))
    if resume:
        log.info("resuming from %s", resume)
    result = trainer.train(resume_from_checkpoint=resume)
    wall = time.monotonic() - clock.started
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    model.config.use_cache = True
    trainer.save_model(output_dir)
    tokenizer.save_pretrained(output_dir)
    steps = trainer.state.global_step
    epochs_done = trainer.state.epoch or 0.0
    seen_tokens = total_tokens * epochs_done
    return {
        "rows": len(examples),
        "truncated_rows": truncated,
        "max_length": settings["max_length"],
        "trained_tokens_per_epoch": trained_tokens,
        "tokens_per_epoch": total_tokens,
        "devices": devices,
        "per_device_batch_size": per_device,
        "gradient_accumulation_steps": accumulation,
        "effective_batch_size": per_device * devices * accumulation,
        "packing": settings.get("packing", False),
        "liger": settings.get("liger", False),
        "optimizer_steps": steps,
        "epochs": round(epochs_done, 3),
        "resumed_from": resume,
        "train_loss": result.training_loss,
        "loss_curve": [
            {"step": entry["step"], "loss": entry["loss"], "learning_rate": entry.get("learning_rate")}
            for entry in trainer.state.log_history
            if "loss" in entry
        ],
        "wall_s": round(wall, 1),
        "tokens_per_s": round(seen_tokens / wall, 1) if wall > 0 else None,
    }
