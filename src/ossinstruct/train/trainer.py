"""One training process: the Magicoder rows tokenized and padded (or packed), the transformers
Trainer with the paper's settings, resumed from the last checkpoint in the caller's folder."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path

from .examples import IGNORE_INDEX, example_counts, pad_batch, read_examples
from .student import load_student, model_flops, peak_flops

log = logging.getLogger(__name__)


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


def watch_training(report_to: str, checkpoint_dir: str) -> str:
    """`train.report_to` (a how-key): where the trainer logs each step besides the job's log.
    tensorboard: event files in `<checkpoint_dir>/tensorboard` (unless TENSORBOARD_LOGGING_DIR is set);
    wandb: offline (WANDB_MODE=offline unless set), its files in the checkpoint folder."""
    import importlib.util

    if report_to == "none":
        return "none"
    if report_to not in ("tensorboard", "wandb"):  # each is also the name of its package
        raise ValueError(f"config key 'train.report_to': unknown value {report_to!r} (none, tensorboard, wandb)")
    if importlib.util.find_spec(report_to) is None:
        raise ValueError(f"config key 'train.report_to': {report_to} needs its package (pip install {report_to})")
    places = {"TENSORBOARD_LOGGING_DIR": str(Path(checkpoint_dir) / "tensorboard")}
    if report_to == "wandb":
        places = {"WANDB_MODE": "offline", "WANDB_DIR": checkpoint_dir}
    for name, value in places.items():
        if os.environ.get(name) in (None, _SET_BY_US.get(name)):  # the user's own choice wins
            os.environ[name] = _SET_BY_US[name] = value
    return report_to


_SET_BY_US: dict[str, str] = {}  # what watch_training set, so a second training in one process moves on


def check_attention(attention: str) -> None:
    """FlexAttention has a backward pass only on GPUs (PyTorch 2.13), and FlashAttention-2 needs the
    flash-attn package and a CUDA GPU: refuse either where it cannot run, before training."""
    import importlib.util

    import torch

    if attention == "flex_attention" and not torch.cuda.is_available():
        raise ValueError(
            "config key 'train.attention': flex_attention trains only on a GPU (PyTorch has no FlexAttention "
            "backward pass on a CPU); use sdpa here"
        )
    if attention == "flash_attention_2" and (
        importlib.util.find_spec("flash_attn") is None or not torch.cuda.is_available()
    ):
        raise ValueError(
            "config key 'train.attention': flash_attention_2 needs a CUDA GPU and the flash-attn package "
            "(pip install flash-attn), which this machine lacks; use sdpa (PyTorch's fused attention) here"
        )


def check_memory(model, settings: dict, devices: int) -> dict:
    """The per-device memory estimate (train.memory) of this training; on a GPU, refuse to start when it
    exceeds the device's free memory, naming the keys that lower it."""
    import torch

    from .memory import describe, fits, gib, shape_of, training_memory

    on_gpu = torch.cuda.is_available()
    parts = training_memory(
        shape_of(model.config),
        per_device_batch_size=settings["per_device_batch_size"],
        max_length=settings["max_length"],
        bf16=settings["bf16"],
        processes=devices,
        gradient_checkpointing=settings["gradient_checkpointing"],
        attention=settings["attention"],
        device="cuda" if on_gpu else "cpu",
    )
    log.info("memory per device, estimated: %s (%s)", gib(parts["total"]), describe(parts))
    if on_gpu:
        free, _ = torch.cuda.mem_get_info()
        fits(parts, free, settings.get("run", "?"))  # the model is still on the CPU here
    return parts


def world_size() -> int:
    """Processes in this training (accelerate launch sets WORLD_SIZE; 1 when run directly)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def last_checkpoint(folder: Path) -> str | None:
    """The newest complete checkpoint: a kill during a save leaves one without trainer_state.json."""
    complete = [path.parent for path in folder.glob("checkpoint-*/trainer_state.json")]
    complete.sort(key=lambda path: int(path.name.split("-")[-1]))
    return str(complete[-1]) if complete else None


def load_for_training(settings: dict, threads: int):
    """Step 1: the checks that refuse what cannot run here, the seed, and the student with the
    attention it trains with."""
    import torch
    from transformers import set_seed

    torch.set_num_threads(max(1, threads))
    check_liger(settings["liger"])
    check_attention(settings["attention"])
    set_seed(settings["seed"])
    model, tokenizer = load_student(settings["student"], "bfloat16" if settings["bf16"] else "float32")
    # No KV cache while training: it is useless there, and with one transformers ignores the restarting
    # position ids of packed rows (rows would attend to each other). Restored before saving.
    model.config.use_cache = False
    model.set_attn_implementation(settings["attention"])  # with packing, flex_attention gets a document mask
    return model, tokenizer


def training_arguments(settings: dict, checkpoint_dir: str, accumulation: int, report_to: str, use_gpu: bool):
    """Step 3: the paper's Trainer settings (checkpoints in `checkpoint_dir`, every step logged)."""
    from transformers import TrainingArguments

    checkpointing = settings["gradient_checkpointing"]  # a how-key: the same loss (test_train.py)
    return TrainingArguments(
        output_dir=checkpoint_dir,
        per_device_train_batch_size=settings["per_device_batch_size"],
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
        report_to=report_to,
        disable_tqdm=True,  # progress goes through ossinstruct.progress (a bar on a terminal, else the log)
        seed=settings["seed"],
        remove_unused_columns=False,
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,  # every parameter trains: skip DDP's extra graph traversal
        use_liger_kernel=settings["liger"],
        activation_checkpointing=checkpointing,  # transformers 5: the new name of gradient_checkpointing
        activation_checkpointing_kwargs={"use_reentrant": False} if checkpointing else None,
    )


def make_trainer(model, tokenizer, arguments, examples, settings: dict, clock):
    """Step 4: the Trainer on the examples, with the loss weighting `train.loss_weighting` names."""
    from transformers import Trainer

    from .callbacks import ExampleRows

    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=ExampleRows(examples),
        data_collator=make_collator(tokenizer, settings["packing"]),
        processing_class=tokenizer,
        callbacks=[clock],
    )
    if settings["loss_weighting"] == "micro_batch":
        # The paper's transformers 4.35: each micro-batch's loss is its own mean over trained tokens,
        # divided by the accumulation steps (and DDP averages the devices). Since 4.46 the Trainer passes
        # the accumulated batch's token count to the model, so every token weighs the same; a model that
        # takes no loss kwargs gets the old rule.
        trainer.model_accepts_loss_kwargs = False
    elif settings["loss_weighting"] != "token":
        raise ValueError(f"config key 'train.loss_weighting': unknown value {settings['loss_weighting']!r}")
    return trainer


def resume_point(checkpoint_dir: str) -> tuple[str | None, float]:
    """Step 5: the last complete checkpoint and its epoch (read now: the Trainer deletes old checkpoints
    as it saves new ones), so throughput counts only what this job trained."""
    resume = last_checkpoint(Path(checkpoint_dir))
    start_epoch = json.loads((Path(resume) / "trainer_state.json").read_text())["epoch"] if resume else 0.0
    if resume:
        log.info("resuming from %s (epoch %.3f)", resume, start_epoch)
    return resume, start_epoch


def save_student(trainer, model, tokenizer, output_dir: str) -> None:
    """Step 6: the weights (the main process alone writes) with the KV cache on again, and the tokenizer."""
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    model.config.use_cache = True
    trainer.save_model(output_dir)
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(output_dir)


def utilisation(trainer, examples, trained_epochs: float, wall: float, devices: int) -> dict:
    """On a GPU: the model FLOPs of what this job trained and their share of the devices' peak (MFU)."""
    import pyarrow.compute as pc
    import torch

    if not torch.cuda.is_available():
        return {}
    device_name = torch.cuda.get_device_name()
    peak = peak_flops(device_name)
    unwrapped = trainer.accelerator.unwrap_model(trainer.model)
    lengths = pc.list_value_length(examples.data.column("input_ids")).to_pylist()  # from the offsets alone
    flops = model_flops(unwrapped.config, unwrapped.num_parameters(exclude_embeddings=True), lengths) * trained_epochs
    return {
        "device_name": device_name,
        "model_flops": flops,
        "peak_flops_per_device": peak,
        "mfu": round(flops / wall / (peak * devices), 4) if peak and wall > 0 else None,
        "peak_memory_bytes": torch.cuda.max_memory_allocated(),  # beside memory_estimate_bytes
    }


def train_student(examples_file: str, settings: dict, output_dir: str, checkpoint_dir: str, threads: int = 1) -> dict:
    """One training process on the examples `examples.prepare` wrote (memory-mapped): load, train
    (resuming from the last complete checkpoint), save, and the summary that `train_metrics.json` records."""
    import torch

    from .callbacks import Clock

    model, tokenizer = load_for_training(settings, threads)
    examples, counts = read_examples(examples_file), example_counts(examples_file)  # step 2: tokenized before
    use_gpu = torch.cuda.is_available()
    # One process per device under accelerate launch; otherwise one process drives every visible GPU.
    devices = world_size() if world_size() > 1 else (max(1, torch.cuda.device_count()) if use_gpu else 1)
    per_device = settings["per_device_batch_size"]
    accumulation = gradient_accumulation(settings["global_batch_size"], per_device, devices)
    memory = check_memory(model, settings, devices)
    report_to = watch_training(settings["report_to"], checkpoint_dir)
    arguments = training_arguments(settings, checkpoint_dir, accumulation, report_to, use_gpu)
    clock = Clock()
    trainer = make_trainer(model, tokenizer, arguments, examples, settings, clock)
    resume, start_epoch = resume_point(checkpoint_dir)
    result = trainer.train(resume_from_checkpoint=resume)
    wall = time.monotonic() - clock.started
    save_student(trainer, model, tokenizer, output_dir)
    epochs_done = trainer.state.epoch or 0.0
    trained_epochs = epochs_done - (start_epoch or 0.0)
    total_tokens = counts["tokens"]
    return {
        "rows": counts["rows"],
        "truncated_rows": counts["truncated_rows"],
        "max_length": settings["max_length"],
        "trained_tokens_per_epoch": counts["trained_tokens"],
        "tokens_per_epoch": total_tokens,
        "devices": devices,
        "per_device_batch_size": per_device,
        "report_to": report_to,
        **({"tensorboard_dir": os.environ["TENSORBOARD_LOGGING_DIR"]} if report_to == "tensorboard" else {}),
        "gradient_checkpointing": bool(
            getattr(trainer.accelerator.unwrap_model(trainer.model), "is_activation_checkpointing", False)
        ),
        "memory_estimate_bytes": memory["total"],
        "gradient_accumulation_steps": accumulation,
        "effective_batch_size": per_device * devices * accumulation,
        "packing": settings["packing"],
        "attention": settings["attention"],
        "liger": settings["liger"],
        "loss_weighting": settings["loss_weighting"],
        "optimizer_steps": trainer.state.global_step,
        "epochs": round(epochs_done, 3),
        "resumed_from": resume,
        "train_loss": result.training_loss,
        "loss_curve": [
            {"step": entry["step"], "loss": entry["loss"], "learning_rate": entry.get("learning_rate")}
            for entry in trainer.state.log_history
            if "loss" in entry
        ],
        "wall_s": round(wall, 1),
        "tokens_per_s": round(total_tokens * trained_epochs / wall, 1) if wall > 0 else None,
        **utilisation(trainer, examples, trained_epochs, wall, devices),
    }
