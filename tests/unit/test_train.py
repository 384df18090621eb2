"""Resume bookkeeping of the train stage."""

import pytest

from ossinstruct.train.trainer import last_checkpoint

from ..sections import section


def examples_of(rows: list[dict], settings: dict, folder) -> str:
    """The training's examples file (`examples.prepare`, as `train.run` writes it before training)."""
    from ossinstruct.sft import training_text
    from ossinstruct.train.examples import prepare

    return str(prepare(map(training_text, rows), settings["student"], settings["max_length"], folder))


def test_an_incomplete_checkpoint_is_not_resumed_from(tmp_path):
    for step, complete in [(2, True), (10, True), (12, False)]:
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    assert last_checkpoint(tmp_path) == str(tmp_path / "checkpoint-10")
    assert last_checkpoint(tmp_path / "checkpoint-12") is None


def test_packed_rows_give_the_padded_batch_loss_so_no_row_sees_another():
    """train.packing on the real student: three rows of different lengths, padded to the longest
    (the paper) or packed into one sequence with restarting position ids, give the same loss; a
    packed row attending to its neighbours would change it. Liger is refused without a GPU."""
    import pytest
    import torch

    from ossinstruct.train.examples import tokenize_example
    from ossinstruct.train.student import load_student
    from ossinstruct.train.trainer import check_liger, make_collator

    from ..conftest import SMOLLM2

    model, tokenizer = load_student({"gguf": SMOLLM2})
    model.eval()
    rows = [
        ("Add two numbers.", "def add(a, b):\n    return a + b"),
        ("Reverse a string s and return it, keeping every character.", "def rev(s):\n    return s[::-1]"),
        ("Square x.", "def sq(x):\n    return x * x\n\nprint(sq(3))"),
    ]
    features = [
        {k: v for k, v in tokenize_example(tokenizer, i, r, 256).items() if k in ("input_ids", "labels")}
        for i, r in rows
    ]
    padded = make_collator(tokenizer, packing=False)(features)
    packed = make_collator(tokenizer, packing=True)(features)
    assert packed["input_ids"].shape[0] == 1 and "attention_mask" not in packed
    assert packed["input_ids"].shape[1] == sum(len(f["input_ids"]) for f in features) < padded["input_ids"].numel()
    with torch.no_grad():
        padded_loss = model(**padded, use_cache=False).loss.item()
        packed_loss = model(**packed, use_cache=False).loss.item()  # training runs without a cache (see train.py)
        crossed = model(input_ids=packed["input_ids"], labels=packed["labels"], use_cache=False).loss.item()
    assert packed_loss == pytest.approx(padded_loss, rel=1e-4)
    assert abs(crossed - padded_loss) > 1e-3  # without the restarts the rows do see each other
    # train.attention: flex_attention turns the restarts into FlexAttention's document mask: the same loss.
    model.set_attn_implementation("flex_attention")
    with torch.no_grad():
        flex_loss = model(**packed, use_cache=False).loss.item()
        flex_crossed = model(input_ids=packed["input_ids"], labels=packed["labels"], use_cache=False).loss.item()
    assert model.config._attn_implementation == "flex_attention"
    assert flex_loss == pytest.approx(padded_loss, rel=1e-4) and abs(flex_crossed - padded_loss) > 1e-3
    if not torch.cuda.is_available():  # PyTorch has no FlexAttention backward on a CPU: refused before training
        from ossinstruct.train.trainer import check_attention

        with pytest.raises(ValueError, match="train.attention"):
            check_attention("flex_attention")
        check_attention("sdpa")
    if not torch.cuda.is_available():  # the refusal applies only where Liger cannot run
        with pytest.raises(ValueError, match="train.liger"):
            check_liger(True)


def test_model_flops_follow_palms_formula_and_padding_is_not_counted():
    """MFU's numerator: per real token 6 x non-embedding parameters + 12 x layers x width x row length."""
    from transformers import LlamaConfig

    from ossinstruct.train.student import model_flops

    config = LlamaConfig(num_hidden_layers=2, hidden_size=64)
    assert model_flops(config, 1000, [10, 30]) == 10 * (6000 + 12 * 2 * 64 * 10) + 30 * (6000 + 12 * 2 * 64 * 30)
    assert model_flops(config, 1000, []) == 0.0


def test_peak_flops_by_device_name():
    from ossinstruct.train.student import peak_flops

    assert peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert peak_flops("NVIDIA A100-SXM4-80GB") == 312e12
    assert peak_flops("NVIDIA L4") == 121e12 and peak_flops("NVIDIA L40S") == 362e12
    assert peak_flops("Tesla T4") is None  # unknown: no MFU rather than a wrong one


def test_the_papers_loss_weighting_averages_micro_batch_means_not_tokens(tmp_path, smol_tokenizer):
    """train.loss_weighting on a tiny Llama (one SGD step, learning rate 1, two micro-batches of one row
    each, of very different lengths): `micro_batch` (the paper's transformers 4.35) moves the weights by
    the mean of the two rows' mean-loss gradients, `token` (transformers >= 4.46) by the gradient of the
    mean over every trained token; the two differ on unequal rows."""
    import pytest
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from ossinstruct.sft import training_text
    from ossinstruct.train.examples import tokenize_example
    from ossinstruct.train.trainer import train_student

    torch.manual_seed(0)
    tok = smol_tokenizer
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(tmp_path / "base")
    smol_tokenizer.save_pretrained(tmp_path / "base")
    rows = [
        {"instruction": "Say hi.", "response": "hi"},
        {"instruction": "Count.", "response": " ".join(str(i) for i in range(60))},
    ]
    settings = {
        "student": {"gguf": None, "path": str(tmp_path / "base")},
        "max_length": 256,
        "epochs": 1,
        "max_steps": 1,
        "per_device_batch_size": 1,
        "global_batch_size": 2,
        "learning_rate": 1.0,
        "lr_scheduler": "constant",
        "warmup_steps": 0,
        "optimizer": "sgd",
        "max_grad_norm": None,
        "bf16": False,
        "seed": 0,
        "save_steps": 100,
        "packing": False,
        "liger": False,
        "attention": "sdpa",
        "gpus": 1,
    }
    settings = section("train", settings)  # the schema's defaults, as a validated config has them

    def gradient(weighting: str) -> torch.Tensor:
        model = LlamaForCausalLM.from_pretrained(tmp_path / "base")
        losses = []
        for row in rows:
            example = tokenize_example(smol_tokenizer, *training_text(row), 256)
            ids, labels = torch.tensor([example["input_ids"]]), torch.tensor([example["labels"]])
            logits = model(input_ids=ids).logits[0, :-1]
            losses.append(
                torch.nn.functional.cross_entropy(logits, labels[0, 1:], reduction="none")[labels[0, 1:] != -100]
            )
        if weighting == "micro_batch":
            loss = sum(token_losses.mean() for token_losses in losses) / len(losses)
        else:
            loss = torch.cat(losses).mean()
        loss.backward()
        return model.model.embed_tokens.weight.grad.clone()

    before = LlamaForCausalLM.from_pretrained(tmp_path / "base").model.embed_tokens.weight.detach().clone()
    moved = {}
    examples = examples_of(rows, settings, tmp_path / "examples")
    for weighting in ("micro_batch", "token"):
        summary = train_student(
            examples,
            {**settings, "loss_weighting": weighting},
            str(tmp_path / weighting),
            str(tmp_path / f"checkpoints-{weighting}"),
            1,
        )
        assert summary["optimizer_steps"] == 1 and summary["loss_weighting"] == weighting
        after = LlamaForCausalLM.from_pretrained(tmp_path / weighting).model.embed_tokens.weight.detach()
        moved[weighting] = before - after  # SGD, learning rate 1: the gradient itself
    expected = {weighting: gradient(weighting) for weighting in ("micro_batch", "token")}
    assert (expected["micro_batch"] - expected["token"]).abs().max() > 1e-3  # the rules differ on unequal rows
    for weighting in ("micro_batch", "token"):
        assert torch.allclose(moved[weighting], expected[weighting], atol=1e-5), weighting
    with pytest.raises(ValueError, match="train.loss_weighting"):
        train_student(examples, {**settings, "loss_weighting": "rows"}, str(tmp_path / "x"), str(tmp_path / "cx"), 1)


def test_the_checkpoint_folder_is_keyed_by_what_decides_the_weights_only(tmp_path):
    """A changed save_steps (how often to write a resume point) keeps the checkpoints; a changed
    learning rate, the data, or the base run's record starts a new folder."""
    from ossinstruct.train import checkpoint_dir

    sft = tmp_path / "sft.jsonl"
    sft.write_text('{"instruction": "a", "response": "b"}\n')
    settings = {"run": "r", "learning_rate": 5e-5, "save_steps": 50, "seed": 42}
    key = checkpoint_dir(str(tmp_path), settings, str(sft))
    assert key.parent == tmp_path / "checkpoints" and key.name.startswith("r-")
    assert checkpoint_dir(str(tmp_path), {**settings, "save_steps": 5}, str(sft)) == key
    assert checkpoint_dir(str(tmp_path), {**settings, "learning_rate": 1e-4}, str(sft)) != key
    base = tmp_path / "base.json"
    base.write_text("{}")
    assert checkpoint_dir(str(tmp_path), settings, str(sft), str(base)) != key
    sft.write_text('{"instruction": "a", "response": "c"}\n')
    assert checkpoint_dir(str(tmp_path), settings, str(sft)) != key


def two_step_run(tmp_path, tokenizer, *, layers: int, width: int, max_length: int) -> tuple[list[dict], dict]:
    """Rows and settings for two Adafactor steps of a tiny Llama saved at `tmp_path/base`."""
    from ..rehearsal.standins import save_tiny_llama

    save_tiny_llama(tmp_path / "base", tokenizer, layers=layers, width=width, seed=0)
    rows = [{"instruction": f"Count to {n}.", "response": " ".join(str(i) for i in range(n))} for n in (5, 30, 12, 50)]
    settings = {
        "student": {"gguf": None, "path": str(tmp_path / "base")},
        **{"max_length": max_length, "epochs": 1, "max_steps": 2, "per_device_batch_size": 2, "global_batch_size": 2},
        **{"learning_rate": 1e-2, "lr_scheduler": "constant", "warmup_steps": 0, "optimizer": "adafactor"},
        **{"max_grad_norm": None, "bf16": False, "seed": 0, "save_steps": 100, "packing": False, "liger": False},
        **{"attention": "sdpa", "gpus": 1, "loss_weighting": "micro_batch"},
    }
    settings = section("train", settings)  # the schema's defaults, as a validated config has them
    return rows, settings


def test_gradient_checkpointing_gives_the_same_losses_and_weights(tmp_path, smol_tokenizer):
    """train.gradient_checkpointing recomputes activations in the backward pass: two steps of a tiny
    two-layer Llama give the same loss curve and the same weights as without it (a how-key)."""
    import torch
    from transformers import LlamaForCausalLM

    from ossinstruct.train.trainer import train_student

    rows, settings = two_step_run(tmp_path, smol_tokenizer, layers=2, width=32, max_length=128)
    summaries, weights = {}, {}
    examples = examples_of(rows, settings, tmp_path / "examples")
    for checkpointing in (False, True):
        out = tmp_path / f"out-{checkpointing}"
        summaries[checkpointing] = train_student(
            examples,
            {**settings, "gradient_checkpointing": checkpointing},
            str(out),
            str(tmp_path / f"ck-{checkpointing}"),
            1,
        )
        weights[checkpointing] = LlamaForCausalLM.from_pretrained(out).state_dict()
    assert summaries[True]["gradient_checkpointing"] and not summaries[False]["gradient_checkpointing"]
    losses = {key: [entry["loss"] for entry in summary["loss_curve"]] for key, summary in summaries.items()}
    assert len(losses[True]) == 2 and losses[True] == pytest.approx(losses[False], rel=1e-6)
    assert all(torch.allclose(weights[True][name], weights[False][name], atol=1e-6) for name in weights[False])
    assert summaries[True]["memory_estimate_bytes"] < summaries[False]["memory_estimate_bytes"]


def test_flash_attention_2_is_refused_naming_the_key_where_it_cannot_run():
    import importlib.util

    import torch

    from ossinstruct.train.trainer import check_attention

    if importlib.util.find_spec("flash_attn") is not None and torch.cuda.is_available():
        check_attention("flash_attention_2")  # accepted where it runs
    else:
        with pytest.raises(
            ValueError, match=r"'train.attention': flash_attention_2 needs a CUDA GPU and the flash-attn"
        ):
            check_attention("flash_attention_2")


def test_report_to_tensorboard_logs_the_loss_curve_and_a_missing_package_names_the_key(tmp_path, smol_tokenizer):
    """train.report_to (a how-key): tensorboard writes each step's loss to event files in the run's
    checkpoint folder, the same losses as train_metrics.json's curve; none writes no event file; a
    logger whose package is not installed is refused naming the key."""
    import importlib.util

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from ossinstruct.train.trainer import train_student

    rows, settings = two_step_run(tmp_path, smol_tokenizer, layers=1, width=16, max_length=64)
    examples = examples_of(rows, settings, tmp_path / "examples")
    watched = train_student(
        examples, {**settings, "report_to": "tensorboard"}, str(tmp_path / "o1"), str(tmp_path / "c1")
    )
    assert watched["tensorboard_dir"] == str(tmp_path / "c1" / "tensorboard")
    events = EventAccumulator(watched["tensorboard_dir"])
    events.Reload()
    logged = [event.value for event in events.Scalars("train/loss")]
    assert logged == pytest.approx([entry["loss"] for entry in watched["loss_curve"]], rel=1e-5) and len(logged) == 2
    quiet = train_student(examples, {**settings, "report_to": "none"}, str(tmp_path / "o2"), str(tmp_path / "c2"))
    assert quiet["report_to"] == "none" and not (tmp_path / "c2" / "tensorboard").exists()
    if importlib.util.find_spec("wandb") is None:
        with pytest.raises(ValueError, match="train.report_to.*wandb"):
            train_student(examples, {**settings, "report_to": "wandb"}, str(tmp_path / "o3"), str(tmp_path / "c3"))
