"""Export a fine-tuned student back to GGUF, so llama.cpp can serve it for evaluation.

On a CPU, llama.cpp generates several times faster than transformers. The student was loaded from
a GGUF file, so that file already holds everything llama.cpp needs except the new weights: its
metadata (architecture, tokenizer, chat template) is copied as is, and each tensor is replaced by
the trained one, mapped to its GGUF name with gguf's own name table and, for the attention query
and key projections, permuted back to llama.cpp's rotary layout (the inverse of what transformers
undoes when it loads a GGUF file).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FILE_TYPES = {"f32": 0, "f16": 1, "q8_0": 7}  # llama.cpp's general.file_type values


def permute_rotary(weights: np.ndarray, n_head: int) -> np.ndarray:
    """HF q/k projection layout -> GGUF (interleaved rotary halves), as llama.cpp's converter."""
    return (
        weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def export_gguf(*, model_dir: str, base_gguf: str, output: str, gguf_type: str = "q8_0") -> None:
    import gguf
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from .paths import resolve_model_file

    reader = gguf.GGUFReader(str(resolve_model_file(base_gguf)))
    arch = reader.fields["general.architecture"].contents()
    if arch != "llama":
        raise ValueError(f"export: GGUF architecture {arch!r} is not supported (llama only)")
    config = AutoConfig.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    state = {name: tensor.detach().cpu().numpy() for name, tensor in model.state_dict().items()}
    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    by_gguf_name = {}
    for hf_name in state:
        gguf_name = name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is not None:
            by_gguf_name[gguf_name] = hf_name

    Path(output).parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(output, arch)
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name in ("general.architecture", "general.file_type"):
            continue
        sub_type = field.types[1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(name, field.contents(), field.types[0], sub_type=sub_type)
    writer.add_file_type(FILE_TYPES[gguf_type])

    quant = {
        "f32": gguf.GGMLQuantizationType.F32,
        "f16": gguf.GGMLQuantizationType.F16,
        "q8_0": gguf.GGMLQuantizationType.Q8_0,
    }[gguf_type]
    for tensor in reader.tensors:
        hf_name = by_gguf_name.get(tensor.name)
        if hf_name is None:
            raise ValueError(f"export: no trained tensor for GGUF tensor {tensor.name!r}")
        data = state[hf_name].astype(np.float32)
        if hf_name.endswith("q_proj.weight"):
            data = permute_rotary(data, config.num_attention_heads)
        elif hf_name.endswith("k_proj.weight"):
            data = permute_rotary(data, config.num_key_value_heads)
        # 1-D tensors (norms) stay float32, as llama.cpp's own converter keeps them.
        kind = quant if data.ndim > 1 else gguf.GGMLQuantizationType.F32
        if kind == gguf.GGMLQuantizationType.F16:
            data = data.astype(np.float16)
        elif kind == gguf.GGMLQuantizationType.Q8_0:
            data = gguf.quants.quantize(data, kind)
        writer.add_tensor(tensor.name, data, raw_dtype=kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    log.info("exported %s as %s (%d tensors) to %s", model_dir, gguf_type, len(reader.tensors), output)


def export_hf(*, gguf: str, output: str, dtype: str = "bfloat16") -> None:
    """A Hugging Face folder (weights, config, tokenizer) of a GGUF model, dequantised by
    transformers, for servers that read one (vLLM)."""
    from .train.student import load_student

    model, tokenizer = load_student({"gguf": gguf}, dtype)
    model.save_pretrained(output)
    tokenizer.save_pretrained(output)
    log.info("wrote %s as a Hugging Face folder (%s) to %s", gguf, dtype, output)


def run(*, model_dir: str, output: str, base_gguf: str, gguf_type: str) -> None:
    export_gguf(model_dir=model_dir, base_gguf=base_gguf, output=output, gguf_type=gguf_type)
