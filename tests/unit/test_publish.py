"""`ossinstruct publish`: a built data set staged as a Hugging Face dataset repository (Parquet, trl's
two SFT formats, the card's metadata by huggingface_hub's DatasetCardData, the manifest), read back
with `datasets.load_dataset`, and uploaded by huggingface_hub's own `upload_folder` to a local server
speaking the Hub's upload protocol (`HF_ENDPOINT`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ossinstruct import card
from ossinstruct.config import load_layered
from ossinstruct.io import write_json, write_jsonl
from ossinstruct.sft import INSTRUCTION_PREFIX

from ..hub_upload_server import HubUploadServer

ROWS = [
    {
        "id": f"python-{i}",
        "lang": "python",
        "problem": f"Write f{i}.",
        "solution": f"def f{i}():\n    return {i}\n",
        "seed": f"x = {i}\n",
        "source": f"my-repo/m{i}.py",
        "teacher": "t",
        "request_hash": f"{i:064x}",
    }
    for i in range(5)
]


@pytest.fixture
def built(tmp_path) -> Path:
    """results/dataset/<teacher>/ as describe_dataset writes it (card.run, on five rows)."""
    folder = tmp_path / "dataset"
    folder.mkdir()
    write_jsonl(tmp_path / "rows.jsonl", ROWS)
    write_json(tmp_path / "seeds.json", {"total": 5})
    write_json(tmp_path / "generation.json", {"seeds": 5, "responses": 5, "cost_usd": 0.01})
    steps = [{"step": "decontaminate", "rows_in": 5, "rows_out": 5, "dropped_by_reason": {}, "complete": True}]
    write_json(tmp_path / "curation.json", {"steps": steps})
    config = load_layered()
    card.run(
        rows=str(tmp_path / "rows.jsonl"),
        seeds_report=str(tmp_path / "seeds.json"),
        generation_report=str(tmp_path / "generation.json"),
        curation_report=str(tmp_path / "curation.json"),
        config={key: config[key] for key in ("seeds", "teacher", "curate", "students", "runs")},
        data=str(folder / "data.jsonl"),
        manifest=str(folder / "manifest.json"),
        card=str(folder / "README.md"),
    )
    return folder


def publish(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    cli = Path(sys.executable).with_name("ossinstruct")
    return subprocess.run(
        [str(cli), "publish", *args], capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}
    )


def test_the_card_metadata_is_valid_hub_metadata(built):
    from huggingface_hub import DatasetCard

    data = DatasetCard.load(built / "README.md").data
    assert data.license == "other" and data.license_name == card.LICENSE_NAME
    assert data.size_categories == ["n<1K"] and data.task_categories == ["text-generation"]
    assert [card.size_category(n) for n in (999, 1000, 75_197, 10**6, 3 * 10**7)] == [
        "n<1K", "1K<n<10K", "10K<n<100K", "1M<n<10M", "10M<n<100M",
    ]  # fmt: skip


def test_publish_stages_parquet_trl_formats_and_the_card_and_uploads_them_in_one_commit(built, tmp_path):
    import datasets

    with HubUploadServer(tmp_path / "hub", token="hf_local_test") as hub:
        env = {"HF_ENDPOINT": hub.endpoint, "HF_TOKEN": "hf_local_test", "HF_HUB_DISABLE_XET": "1"}
        run = publish("--repo-id", "me/oss-instruct-mine", "--folder", str(built), "--license", "apache-2.0", env=env)
        assert run.returncode == 0, run.stdout + run.stderr
        assert hub.created == [
            {"name": "oss-instruct-mine", "organization": "me", "visibility": "public", "type": "dataset"}
        ]
        # Every write went through the routes above (huggingface_hub also asks GET /api/agent-harnesses: optional)
        assert len(hub.commits) == 1 and [call for call in hub.unknown if not call.startswith("GET ")] == []
        assert {sent["repoType"] for sent in hub.validated} == {"dataset"}  # the card's metadata, sent first
        assert "license: apache-2.0" in hub.validated[0]["content"]
    repo = tmp_path / "hub" / "me/oss-instruct-mine"
    assert hub.commits[0]["paths"] == [
        "README.md", "data/train-00000-of-00001.parquet", "manifest.json",
        "sft-messages/train-00000-of-00001.parquet", "sft-prompt-completion/train-00000-of-00001.parquet",
    ]  # fmt: skip
    # What the Hub now holds, read as a user of the repository reads it (its card's configs).
    # (a cache of its own: `datasets` would reuse an earlier test's tables, keyed by the files' names)
    cache = str(tmp_path / "datasets-cache")
    rows = datasets.load_dataset(str(repo), split="train", cache_dir=cache)
    assert rows.to_list() == ROWS
    messages = datasets.load_dataset(str(repo), "sft-messages", split="train", cache_dir=cache)
    assert messages[0]["messages"] == [
        {"role": "user", "content": INSTRUCTION_PREFIX + ROWS[0]["problem"]},
        {"role": "assistant", "content": ROWS[0]["solution"]},
    ]
    pairs = datasets.load_dataset(str(repo), "sft-prompt-completion", split="train", cache_dir=cache)
    assert pairs[0]["prompt"] == messages[0]["messages"][:1] and pairs[0]["completion"] == messages[0]["messages"][1:]
    from huggingface_hub import DatasetCard

    published = DatasetCard.load(repo / "README.md")
    assert published.data.license == "apache-2.0" and "license_name" not in published.data.to_dict()
    assert "## From seeds to rows" in published.text  # the card's body travels with its new metadata
    assert 'load_dataset("me/oss-instruct-mine", split="train")' in published.text  # how to load it, by its id


def test_a_failed_upload_names_the_endpoint_and_keeps_the_staged_folder(built, tmp_path):
    with HubUploadServer(tmp_path / "hub", token="hf_right") as hub:
        env = {"HF_ENDPOINT": hub.endpoint, "HF_TOKEN": "hf_wrong", "HF_HUB_DISABLE_XET": "1"}
        run = publish("--repo-id", "me/x", "--folder", str(built), env=env)
    assert run.returncode == 1
    assert f"publishing to {hub.endpoint} (dataset me/x) failed" in run.stdout and "hf auth login" in run.stdout
    assert (Path(f"{built}.publish") / "data" / "train-00000-of-00001.parquet").is_file()
    missing = publish("--repo-id", "me/x", "--folder", str(tmp_path / "nothing"), "--stage-only")
    assert missing.returncode == 1 and "data.jsonl: not found; build it first" in missing.stdout


def test_the_data_set_is_the_curated_rows_published_columns_streamed_one_row_at_a_time(built, tmp_path):
    """`card.run` streams the rows: data.jsonl is exactly today's file (each row's published columns,
    `io.write_jsonl`) and the manifest counts the rows by language as a whole-file read does."""
    from collections import Counter

    from ossinstruct.io import read_json, read_jsonl

    expected = tmp_path / "expected.jsonl"
    write_jsonl(expected, [{key: row.get(key) for key in card.EXPORTED} for row in read_jsonl(tmp_path / "rows.jsonl")])
    assert (built / "data.jsonl").read_bytes() == expected.read_bytes()
    manifest = read_json(built / "manifest.json")
    assert manifest["rows"] == len(ROWS) and manifest["rows_by_language"] == dict(Counter(r["lang"] for r in ROWS))
