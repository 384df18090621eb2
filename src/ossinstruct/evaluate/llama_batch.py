"""Greedy completions from a GGUF model with llama.cpp's batch API, in the job's own process.

One llama.cpp context holds `parallel` sequences, each in a KV-cache stream of its own
(`kv_unified` off, so a token attends only to its own sequence). Every `llama_decode` call carries
one new token of every sequence that is generating and, in the room left, prompt tokens of the
sequences that are starting (continuous batching): a finished sequence's slot takes the next
prompt at once. On a CPU a batch of 16 rows costs little more than one row, so this decodes
several times more tokens per second than one single-threaded server per core.

Each completion follows the llama.cpp server's rules for a greedy request (`llama-cpp-python`'s
`create_completion` with temperature 0): the prompt tokenised with special tokens parsed and BOS
added only when the file asks for it; the sampler chain repeat penalty (last 64 tokens) then
greedy; stop at an end-of-generation token, at the first stop string (the text is cut before it),
or after `max_tokens` (at most the context left after the prompt).
"""

from __future__ import annotations

import ctypes
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

PENALTY_LAST_N = 64  # llama-cpp-python's last_n_tokens_size


@dataclass
class _Sequence:
    index: int  # the prompt's position in the caller's list
    tokens: list[int]  # prompt tokens still to be decoded
    budget: int  # new tokens allowed
    sampler: object
    position: int = 0
    generated: int = 0
    text: bytearray = field(default_factory=bytearray)
    last: int | None = None  # the token to decode next, once the prompt is in


class BatchedLlama:
    """A GGUF model with one context of `parallel` sequences of `context` tokens each."""

    def __init__(
        self, model_path: str, *, parallel: int = 16, context: int = 2048, threads: int = 2, batch_tokens: int = 512
    ) -> None:
        import llama_cpp

        batch_tokens = max(batch_tokens, parallel)  # room for one token of every sequence
        self.lib, self.parallel, self.context, self.batch_tokens = llama_cpp, parallel, context, batch_tokens
        self.tokenizer = llama_cpp.Llama(model_path, vocab_only=True, verbose=False)
        llama_cpp.llama_backend_init()
        self.model = llama_cpp.llama_model_load_from_file(model_path.encode(), llama_cpp.llama_model_default_params())
        if not self.model:
            raise RuntimeError(f"llama.cpp could not load {model_path}")
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = parallel * context
        params.n_batch = params.n_ubatch = batch_tokens
        params.n_seq_max = parallel
        params.kv_unified = False
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED  # as the server (flash_attn=False)
        params.n_threads = params.n_threads_batch = threads
        params.no_perf = True
        self.ctx = llama_cpp.llama_init_from_model(self.model, params)
        if not self.ctx:
            llama_cpp.llama_model_free(self.model)
            raise RuntimeError(f"llama.cpp could not create a context of {parallel} x {context} tokens")
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.batch = llama_cpp.llama_batch_init(batch_tokens, 0, 1)
        self.add_bos = llama_cpp.llama_vocab_get_add_bos(self.vocab)
        self.bos = llama_cpp.llama_vocab_bos(self.vocab)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)

    def close(self) -> None:
        lib = self.lib
        if self.ctx:
            lib.llama_batch_free(self.batch)
            lib.llama_free(self.ctx)
            lib.llama_model_free(self.model)
            self.ctx = self.model = None
        self.tokenizer.close()

    def __enter__(self) -> BatchedLlama:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def prompt_tokens(self, prompt: str) -> list[int]:
        tokens = self.tokenizer.tokenize(prompt.encode("utf-8"), add_bos=False, special=True) if prompt else []
        return ([self.bos] if self.add_bos and self.bos >= 0 else []) + tokens

    def _sampler(self, repeat_penalty: float):
        lib = self.lib
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        penalties = lib.llama_sampler_init_penalties(self.n_vocab, PENALTY_LAST_N, repeat_penalty, 0.0, 0.0)
        lib.llama_sampler_chain_add(chain, penalties)
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_greedy())
        return chain

    def _piece(self, token: int) -> bytes:
        """The token's text as bytes (special tokens rendered empty, as the server's detokenizer does)."""
        size = 64
        while True:
            buffer = (ctypes.c_char * size)()
            written = self.lib.llama_token_to_piece(self.vocab, token, buffer, size, 0, False)
            if written >= 0:
                return bytes(buffer[:written])
            size = -written  # too small: llama.cpp says how much it needs

    def _add(self, n: int, token: int, position: int, slot: int, logits: bool) -> int:
        """Token `token` of sequence `slot` at `position` as row `n` of the batch; the next free row."""
        batch = self.batch
        batch.token[n], batch.pos[n], batch.n_seq_id[n] = token, position, 1
        batch.seq_id[n][0], batch.logits[n] = slot, logits
        return n + 1

    def complete(
        self,
        prompts: Sequence[str],
        *,
        max_tokens: int,
        stop: Sequence[str] = (),
        repeat_penalty: float = 1.0,
        on_done: Callable[[int], None] | None = None,
    ) -> list[str]:
        """One greedy completion per prompt, in the prompts' order; `on_done(index)` as each ends."""
        lib = self.lib
        stops = [s.encode("utf-8") for s in stop if s]
        results: list[str | None] = [None] * len(prompts)
        waiting = deque(range(len(prompts)))
        slots: list[_Sequence | None] = [None] * self.parallel

        def finish(slot: int, text: bytes) -> None:
            sequence = slots[slot]
            results[sequence.index] = text.decode("utf-8", errors="ignore")
            lib.llama_sampler_free(sequence.sampler)
            lib.llama_memory_seq_rm(self.memory, slot, -1, -1)
            slots[slot] = None
            if on_done is not None:
                on_done(sequence.index)

        while waiting or any(slots):
            for slot in range(self.parallel):
                while slots[slot] is None and waiting:
                    index = waiting.popleft()
                    tokens = self.prompt_tokens(prompts[index])
                    if len(tokens) >= self.context:
                        raise ValueError(
                            f"prompt {index} has {len(tokens)} tokens, more than the context of {self.context}"
                        )
                    room = self.context - len(tokens)  # the server's rule: the context bounds the budget
                    budget = min(max_tokens, room) if max_tokens > 0 else room
                    slots[slot] = _Sequence(index, tokens, budget, self._sampler(repeat_penalty))
                    if budget <= 0:
                        finish(slot, b"")
            rows: list[tuple[int, int]] = []  # (slot, row of the batch whose logits it samples from)
            n = 0
            for slot, sequence in enumerate(slots):  # one token for each sequence that is generating
                if sequence is not None and sequence.last is not None:
                    n = self._add(n, sequence.last, sequence.position, slot, True)
                    sequence.position += 1
                    rows.append((slot, n - 1))
            for slot, sequence in enumerate(slots):  # prompt tokens in the room left
                if sequence is None or not sequence.tokens or n >= self.batch_tokens:
                    continue
                take = min(len(sequence.tokens), self.batch_tokens - n)
                for k, token in enumerate(sequence.tokens[:take]):
                    n = self._add(n, token, sequence.position + k, slot, take == len(sequence.tokens) and k == take - 1)
                sequence.position += take
                sequence.tokens = sequence.tokens[take:]
                if not sequence.tokens:
                    rows.append((slot, n - 1))
            self.batch.n_tokens = n
            if lib.llama_decode(self.ctx, self.batch) != 0:
                raise RuntimeError(f"llama_decode failed on a batch of {n} tokens")
            for slot, row in rows:
                sequence = slots[slot]
                token = lib.llama_sampler_sample(sequence.sampler, self.ctx, row)
                if lib.llama_vocab_is_eog(self.vocab, token):
                    finish(slot, bytes(sequence.text))
                    continue
                sequence.text += self._piece(token)
                sequence.generated += 1
                sequence.last = token
                hit = next((s for s in stops if s in sequence.text), None)  # the server's order: the first listed
                if hit is not None:
                    finish(slot, bytes(sequence.text[: sequence.text.index(hit)]))
                elif sequence.generated >= sequence.budget:
                    finish(slot, bytes(sequence.text))
        return results  # type: ignore[return-value]
