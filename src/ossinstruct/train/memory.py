"""How much memory full fine-tuning takes on each device, estimated before the job starts.

Per device, for a Llama-shaped decoder (hidden size h, intermediate size i, L layers, vocabulary V,
P parameters), `tokens` = rows per forward pass x `max_length` (padding to the longest row, or a
packed row: the worst case either way), b = 2 bytes in bf16 and 4 in float32:

- weights P x b, gradients P x b (training in the weights' dtype, as the Trainer does here);
- DDP's gradient buckets, another P x b, when more than one process trains;
- Adafactor (the paper's optimizer): factored second moments, a row and a column per matrix, in
  float32, plus its float32 working copies of the largest parameter (the update is computed in
  float32, one parameter at a time);
- activations kept for the backward pass, per token and layer: about 10 h + 4 i values (layer norms'
  inputs and outputs, q/k/v before and after the rotary embedding, the attention output, the residual,
  and SwiGLU's gate, up, activated gate and product), attention itself not materialised (SDPA's fused
  kernels); with `eager` attention also the heads x length x length scores and their softmax. With
  gradient checkpointing, only each layer's input (h values) is kept, and one layer's activations
  are rebuilt at a time during the backward pass;
- logits: V values per token in the weights' dtype, their float32 copy for the loss and its float32
  gradient;
- a fixed allowance (CUDA context and the allocator's slack).

Checked against measured peaks on a CPU only (`benchmarks/train_memory.py`: Llamas of 20M, 58M and
217M parameters in float32, 3 Adafactor steps; the measured peak resident set growth was 1.04-1.10 x
the estimate without its fixed allowance, `benchmarks/results/cpu-2core.md`). The 7B-shaped check
on a GPU (`--sizes 7b --batch 2 --length 1216 --bf16`) has not run.
"""

from __future__ import annotations

GIB = 1024**3
FIXED_BYTES = {"cuda": 2.5 * GIB, "cpu": 0.5 * GIB}  # CUDA context + allocator slack / the process itself


def llama_shape(params: float) -> dict:
    """A Llama shape for a parameter count when no config can be read: Llama 2's ratios (L = h / 128,
    i = 2.6875 h, 32K vocabulary), h rounded to a multiple of 256 (6.7e9 gives h 4096, 32 layers)."""
    hidden = max(256, round((params * 128 / 12) ** (1 / 3) / 256) * 256)
    return {
        "hidden_size": hidden,
        "intermediate_size": int(hidden * 2.6875),
        "num_hidden_layers": hidden // 128,
        "num_attention_heads": hidden // 128,
        "num_key_value_heads": hidden // 128,
        "vocab_size": 32_000,
        "params": params,
        "assumed": True,
    }


def shape_of(config) -> dict:
    """The numbers the estimate needs from a transformers config (an object or a dict)."""
    get = config.get if isinstance(config, dict) else lambda key, default=None: getattr(config, key, default)
    hidden, layers, vocab = get("hidden_size"), get("num_hidden_layers"), get("vocab_size")
    inter = get("intermediate_size") or 4 * hidden
    heads = get("num_attention_heads")
    kv = get("num_key_value_heads") or heads
    head_dim = get("head_dim") or hidden // heads
    per_layer = hidden * heads * head_dim * 2 + hidden * kv * head_dim * 2 + 3 * hidden * inter + 2 * hidden
    tied = get("tie_word_embeddings", False)
    params = layers * per_layer + vocab * hidden * (1 if tied else 2) + hidden
    return {
        "hidden_size": hidden,
        "intermediate_size": inter,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv,
        "vocab_size": vocab,
        "params": params,
        "assumed": False,
    }


def training_memory(
    shape: dict,
    *,
    per_device_batch_size: int,
    max_length: int,
    bf16: bool,
    processes: int,
    gradient_checkpointing: bool = False,
    attention: str = "sdpa",
    device: str = "cuda",
) -> dict:
    """The estimate's parts in bytes, and `total`."""
    width = 2 if bf16 else 4
    h, i, layers = shape["hidden_size"], shape["intermediate_size"], shape["num_hidden_layers"]
    vocab, params = shape["vocab_size"], shape["params"]
    tokens = per_device_batch_size * max_length
    largest = max(vocab * h, h * i)
    per_layer_token = (10 * h + 4 * i) * width
    scores = 0
    if attention == "eager":  # the scores and their softmax, per head
        scores = 2 * shape["num_attention_heads"] * per_device_batch_size * max_length**2 * width
    if gradient_checkpointing:
        activations = tokens * layers * h * width + tokens * per_layer_token + scores
    else:
        activations = tokens * layers * per_layer_token + layers * scores
    parts = {
        "weights": params * width,
        "gradients": params * width,
        "ddp_buckets": params * width if processes > 1 else 0,
        "optimizer": _adafactor_state(shape) * 4 + 3 * largest * 4,
        "activations": activations,
        "logits": tokens * vocab * (width + 4 + 4),
        "fixed": FIXED_BYTES[device],
    }
    parts = {key: int(value) for key, value in parts.items()}
    parts["total"] = sum(parts.values())
    return parts


def _adafactor_state(shape: dict) -> float:
    """Adafactor's factored second moments: rows + columns of every matrix, a full moment for vectors."""
    h, i, layers, vocab = (
        shape["hidden_size"],
        shape["intermediate_size"],
        shape["num_hidden_layers"],
        shape["vocab_size"],
    )
    per_layer = 4 * (h + h) + 3 * (h + i) + 2 * h
    return layers * per_layer + 2 * (vocab + h) + h


def gib(value: float) -> str:
    return f"{value / GIB:.1f} GiB"


def describe(parts: dict) -> str:
    shown = ("weights", "gradients", "ddp_buckets", "optimizer", "activations", "logits", "fixed")
    return ", ".join(f"{key} {gib(parts[key])}" for key in shown if parts[key])


def fits(parts: dict, free_bytes: int, run: str) -> None:
    """Refuse to start a training whose estimate exceeds the device's free memory, naming the keys."""
    if parts["total"] <= free_bytes:
        return
    raise ValueError(
        f"run {run!r}: training needs about {gib(parts['total'])} per device ({describe(parts)}), but the "
        f"device has {gib(free_bytes)} free. Lower config key 'train.per_device_batch_size' (the global batch "
        "stays the same: accumulation makes up the rest), set 'train.gradient_checkpointing: true', or "
        "lower 'train.max_length'"
    )
