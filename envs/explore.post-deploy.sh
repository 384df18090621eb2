#!/usr/bin/env bash
# Snakemake runs this in the new environment of envs/explore.yaml, once, after conda made it (the
# environment's pip part holds the pinned requirements). It installs what that file cannot say:
set -euo pipefail
# The library, editable from the checkout (OSSINSTRUCT_WORKFLOW: the Snakefile's folder, which the
# workflow sets for this script), so the environment runs the checkout's code after a `git pull`.
# --no-deps: its requirements are the environment's pip part, pinned as in pyproject.toml.
python -m pip install -q --no-deps -e "${OSSINSTRUCT_WORKFLOW:?set by the workflow (rules/common.smk)}"

