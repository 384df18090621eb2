"""Two runs of the tiny workflow in two fresh copies (no shared cache) give byte-identical teacher
answers, SFT data, training loss curve, benchmark samples and scores. The first run is the session's
`built` project (a fresh copy too: `copy_project`, then the main job; the other tests only read it or
work on forks), so the extended suite runs the tiny workflow once more, not twice."""

from __future__ import annotations

import pytest

from ossinstruct.io import read_json

from ..conftest import copy_project
from .conftest import BASE, RUN, TEACHER, TINY, snakemake

pytestmark = [pytest.mark.slow, pytest.mark.extended]
SAME_BYTES = [
    "results/seeds/tiny.jsonl",
    f"results/generate/{TEACHER}/responses.jsonl",
    f"results/curate/{TEACHER}/decontaminated.jsonl",
    f"results/sft/{TEACHER}.jsonl",
    *(
        f"results/eval/{model}/{benchmark}/samples.jsonl"
        for model in (BASE, RUN)
        for benchmark in ("humaneval", "mbpp")
    ),
]


def test_two_fresh_runs_of_the_tiny_workflow_are_identical(built, tmp_path):
    second = copy_project(tmp_path)
    assert not (second / "results").exists()  # fresh: no answers, no cache
    run = snakemake(second, "results/table1.csv", "--cores", "2", *TINY)
    assert run.returncode == 0, run.stderr[-3000:]
    projects = [built, second]
    first = built
    for name in SAME_BYTES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / f"results/sft/{TEACHER}.jsonl").stat().st_size > 0
    curves = [read_json(p / f"results/models/{RUN}/train_metrics.json")["loss_curve"] for p in projects]
    assert curves[0] == curves[1] and len(curves[0]) == 2
    for model in (BASE, RUN):
        for benchmark in ("humaneval", "mbpp"):
            scores = [read_json(p / f"results/eval/{model}/{benchmark}/scores.json") for p in projects]
            assert scores[0]["passed"] == scores[1]["passed"] and scores[0]["pass@1"] == scores[1]["pass@1"]
    assert (first / "results/table1.csv").read_bytes() == (second / "results/table1.csv").read_bytes()
