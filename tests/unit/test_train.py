"""Resume bookkeeping of the train stage."""

from ossinstruct.train import last_checkpoint


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

    from ossinstruct.sft import tokenize_example
    from ossinstruct.train import check_liger, load_student, make_collator

    from ..conftest import SMOLLM2

    model, tokenizer = load_student({"gguf": SMOLLM2})
    model.eval()
    rows = [("Add two numbers.", "def add(a, b):\n    return a + b"),
            ("Reverse a string s and return it, keeping every character.", "def rev(s):\n    return s[::-1]"),
            ("Square x.", "def sq(x):\n    return x * x\n\nprint(sq(3))")]  # fmt: skip
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
    if not torch.cuda.is_available():  # the refusal applies only where Liger cannot run
        with pytest.raises(ValueError, match="train.liger"):
            check_liger(True)


def test_model_flops_follow_palms_formula_and_padding_is_not_counted():
    """MFU's numerator: per real token 6 x non-embedding parameters + 12 x layers x width x row length."""
    from transformers import LlamaConfig

    from ossinstruct.train import model_flops

    config = LlamaConfig(num_hidden_layers=2, hidden_size=64)
    assert model_flops(config, 1000, [10, 30]) == 10 * (6000 + 12 * 2 * 64 * 10) + 30 * (6000 + 12 * 2 * 64 * 30)
    assert model_flops(config, 1000, []) == 0.0


def test_peak_flops_by_device_name():
    from ossinstruct.train import peak_flops

    assert peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert peak_flops("NVIDIA A100-SXM4-80GB") == 312e12
    assert peak_flops("NVIDIA L4") == 121e12 and peak_flops("NVIDIA L40S") == 362e12
    assert peak_flops("Tesla T4") is None  # unknown: no MFU rather than a wrong one
