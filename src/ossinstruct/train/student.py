"""A base model and its tokenizer (a GGUF file dequantized by transformers, or a Hugging Face folder),
and the FLOPs a training step costs (for MFU)."""

from __future__ import annotations


def _where(spec: dict) -> tuple[str, dict]:
    """The folder or id `from_pretrained` loads, and its keywords (a GGUF file's name)."""
    if spec.get("gguf"):
        from ..paths import resolve_model_file

        path = resolve_model_file(spec["gguf"])
        return str(path.parent), {"gguf_file": path.name}
    return spec["path"], {}


def load_tokenizer(spec: dict):
    """The student's tokenizer alone (a GGUF file's or a HF folder's), padding with EOS where it has no pad token."""
    from transformers import AutoTokenizer

    where, keywords = _where(spec)
    tokenizer = AutoTokenizer.from_pretrained(where, **keywords)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_student(spec: dict, dtype: str = "float32"):
    """A base model and tokenizer: a GGUF file (dequantized by transformers) or a HF folder/id."""
    import torch
    from transformers import AutoModelForCausalLM

    where, keywords = _where(spec)
    model = AutoModelForCausalLM.from_pretrained(where, dtype=getattr(torch, dtype), **keywords)
    # A dequantized GGUF model still carries its quantizer, which refuses save_pretrained.
    if spec.get("gguf") and getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer.remove_quantization_config(model)
    return model, load_tokenizer(spec)


# Dense bf16 tensor-core peaks (FLOP/s) from the vendors' datasheets, by a word of the device name.
PEAK_BF16_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12, "L4": 121e12}


def peak_flops(device_name: str) -> float | None:
    """The device's bf16 peak, or None for a device not in the table (then no MFU is reported)."""
    words = device_name.replace("-", " ").split()
    return next((peak for key, peak in PEAK_BF16_FLOPS.items() if key in words), None)


def model_flops(config, non_embedding_params: int, lengths: list[int]) -> float:
    """Training FLOPs of one pass over rows of these lengths (PaLM, appendix B): per token 6 x the
    non-embedding parameters (forward + backward) plus 12 x layers x width x the row's length for
    attention. Padding does no useful work and is not counted."""
    per_token = 6 * non_embedding_params
    attention = 12 * config.num_hidden_layers * config.hidden_size
    return float(sum(length * (per_token + attention * length) for length in lengths))
