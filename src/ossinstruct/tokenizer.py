"""A tokenizer that works offline, for counting tokens: from a GGUF file (`pkg:` or a path) or a
Hugging Face folder / id."""

from __future__ import annotations


def load_tokenizer(spec: str):
    """A tokenizer that works offline: a GGUF file (`pkg:` or a path) or a Hugging Face folder / id."""
    from transformers import AutoTokenizer

    from .paths import is_gguf, resolve_model_path

    if is_gguf(spec):
        path = resolve_model_path(spec)
        if path.is_file():
            return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        return AutoTokenizer.from_pretrained(str(path))
    return AutoTokenizer.from_pretrained(spec)
