"""Counting prompt tokens for the paper's context budget (`teacher.tokenizer`)."""

from __future__ import annotations

import math
from collections.abc import Callable

from .errors import TeacherError


def estimate_tokens(text: str) -> int:
    """Offline fallback when the teacher's tokenizer is not at hand: one token per 3 UTF-8 bytes.

    Code and English average about 3.5-4 bytes per token under BPE vocabularies, so this
    overestimates the prompt and can only make `max_tokens` smaller, never overflow the context.
    """
    return math.ceil(len(text.encode("utf-8")) / 3)


def token_counter(spec: str, server=None) -> Callable[[str], int]:
    """How prompt tokens are counted for the context budget (`teacher.tokenizer`).

    auto: the llama.cpp server's own tokenizer when we serve the teacher, else `estimate`;
    estimate: the offline fallback (`estimate_tokens`); tiktoken:<encoding>: OpenAI's tokenizer
    (cl100k_base for gpt-3.5-turbo and gpt-4; tiktoken downloads the encoding once, or reads it
    from TIKTOKEN_CACHE_DIR); hf:<model id or folder>: a Hugging Face tokenizer (vLLM/SGLang teachers).
    The choice changes `max_tokens` and so the cache key; it never changes silently.
    """
    if spec == "auto":
        return server.count_tokens if server is not None and hasattr(server, "count_tokens") else estimate_tokens
    if spec == "estimate":
        return estimate_tokens
    kind, _, name = spec.partition(":")
    if kind == "tiktoken" and name:
        try:
            import tiktoken

            encoding = tiktoken.get_encoding(name)
        except Exception as error:  # noqa: BLE001 - network or name errors, reported as config errors
            raise TeacherError(
                f"config key 'teacher.tokenizer': tiktoken cannot load {name!r} ({type(error).__name__}: "
                f"{str(error)[:200]}). Offline, put the encoding file in TIKTOKEN_CACHE_DIR or set "
                "teacher.tokenizer: estimate"
            ) from None
        return lambda text: len(encoding.encode(text, disallowed_special=()))
    if kind == "hf" and name:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(name)
        return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])
    raise TeacherError(
        f"config key 'teacher.tokenizer': unknown value {spec!r} (auto, estimate, tiktoken:<encoding>, hf:<model>)"
    )
