"""Own code as seeds: several snippets per file for a small repository (`seeds.per_document`), a
secret scan before any teacher sees a seed (`seeds.scan_secrets`, detect-secrets), `source` relative
to the corpus root, and a Hugging Face dataset named by its configuration or its data files."""

import json

import pytest

from ossinstruct import seeds
from ossinstruct.seeds import SeedError, extract_seeds, list_documents

from ..sections import section
from .test_seeds import CORPUS, paper_seeds, settings_for


def collect_seeds(settings: dict):
    """`seeds.collect_seeds` on the test's section with the schema's defaults filled, as validated."""
    return seeds.collect_seeds(section("seeds", settings))


# Planted secrets: AWS's documented example key id and a private key's armour (no real credential)
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9OiJjRazXBZ1BjP5CE/Wm/Rr500P"
    "\\n-----END RSA PRIVATE KEY-----"
)


def repository(root, files=6):
    """A small repository of one's own: `files` ordinary modules and two of one line holding a secret
    (so that every snippet drawn from them holds it)."""
    package = root / "my-repo" / "pkg"
    package.mkdir(parents=True)
    for i in range(files):
        (package / f"mod{i}.py").write_text("".join(f"def f{i}_{j}(x):\n    return x + {j}\n" for j in range(10)))
    (package / "settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n')
    (package / "deploy.py").write_text(f'KEY = "{PRIVATE_KEY}"\n')
    return root / "my-repo"


def local(root, quota, **seeds):
    source = {"source": "local", "roots": [str(root)], "extensions": [".py"]}
    return {**settings_for(source, quota=quota), **seeds}


def test_several_snippets_per_file_fill_a_quota_that_one_per_file_cannot(tmp_path):
    root = repository(tmp_path)
    rows, report, documents = collect_seeds(local(root, quota=24))
    assert len(rows) == 8 and not report["languages"]["python"]["quota_met"]  # the paper's rule: one per file
    rows, report, documents = collect_seeds(local(root, quota=24, per_document=4))
    assert len(rows) == 24 and report["languages"]["python"]["quota_met"]
    per_file = {source: sum(row["source"] == source for row in rows) for source in {row["source"] for row in rows}}
    assert max(per_file.values()) <= 4 and len(per_file) == 8
    assert [row["index"] for row in rows] == list(range(24)) and len({row["raw_index"] for row in rows}) == 24
    assert [row["source"] for row in documents] == list(dict.fromkeys(row["source"] for row in rows))  # each once


def test_one_snippet_per_document_is_the_papers_draw():
    texts = [json.loads(line)["content"] for line in CORPUS.read_text().splitlines()]
    rows, _, _ = collect_seeds(settings_for({"source": "jsonl", "jsonl": str(CORPUS)}, quota=30) | {"per_document": 1})
    assert [row["seed"] for row in rows] == paper_seeds(texts, 30, 8)


def test_seeds_holding_secrets_are_dropped_and_reported_before_any_teacher_sees_them(tmp_path):
    root = repository(tmp_path)
    plain, _, _ = collect_seeds(local(root, quota=8))
    text = "".join(row["seed"] for row in plain)
    assert AWS_KEY in text and "BEGIN RSA PRIVATE KEY" in text  # the control: without the scan they are seeds

    rows, report, documents = collect_seeds(local(root, quota=8, scan_secrets=True))
    assert len(rows) == 6 and [row["index"] for row in rows] == list(range(6))
    kept = "".join(row["seed"] for row in rows) + "".join(row["content"] for row in documents)
    assert AWS_KEY not in kept and "PRIVATE KEY" not in kept
    secrets = report["secrets"]
    assert secrets["scanned"] == 8 and secrets["flagged"] == 2
    assert {row["source"]: row["types"] for row in secrets["seeds"]} == {
        "my-repo/pkg/settings.py": ["AWS Access Key"],
        "my-repo/pkg/deploy.py": ["Private Key"],
    }
    assert AWS_KEY not in json.dumps(report) and "MIIE" not in json.dumps(report)  # the report names, never holds


def test_a_flagged_seed_is_replaced_by_the_next_in_the_draw(tmp_path):
    root = repository(tmp_path)
    documents = list_documents([str(root)], [".py"], 100, 10**6)
    from ossinstruct.secret_scan import SecretScan

    scanned = extract_seeds(documents, "python", quota=6, per_document=3, scan=SecretScan())
    assert len(scanned) == 6 and all(AWS_KEY not in row["seed"] for row in scanned)
    clean = [
        row for row in extract_seeds(documents, "python", quota=24, per_document=3) if "settings" not in row["source"]
    ]
    clean = [row for row in clean if "deploy" not in row["source"]]
    assert [row["raw_index"] for row in scanned] == [row["raw_index"] for row in clean[:6]]  # the draw's order kept


def test_source_is_relative_to_the_corpus_root(tmp_path):
    root = repository(tmp_path)
    rows, _, documents = collect_seeds(local(root, quota=8))
    assert {row["source"] for row in rows} == {f"my-repo/pkg/{name}.py" for name in ["settings", "deploy"]} | {
        f"my-repo/pkg/mod{i}.py" for i in range(6)
    }
    assert str(tmp_path) not in json.dumps(rows) + json.dumps(documents)


def test_a_hugging_face_dataset_is_named_by_its_configuration_or_its_data_files(tmp_path):
    import datasets

    texts = [json.loads(line)["content"] for line in CORPUS.read_text().splitlines()]
    dataset = tmp_path / "code-dataset"
    for config, part in (("python", texts), ("other", ["int main() { return 0; }\n"] * 30)):
        (dataset / config).mkdir(parents=True)
        datasets.Dataset.from_dict({"content": part}).to_json(str(dataset / config / "train.jsonl"))
    (dataset / "README.md").write_text(
        "---\nconfigs:\n- config_name: python\n  data_files: python/*.jsonl\n"
        "- config_name: other\n  data_files: other/*.jsonl\n---\n"
    )
    by_name = {"dataset": str(dataset), "name": "python"}
    rows, _, _ = collect_seeds(settings_for({"source": "hf", "hf": by_name}))
    assert [row["seed"] for row in rows] == paper_seeds(texts, 12, 8)
    assert rows[0]["source"].startswith(f"{dataset}:python/#")

    by_files = {"dataset": "json", "data_files": str(dataset / "python" / "train.jsonl")}
    rows, _, _ = collect_seeds(settings_for({"source": "hf", "hf": by_files}))
    assert [row["seed"] for row in rows] == paper_seeds(texts, 12, 8)
    assert rows[0]["source"].startswith("json/[train.jsonl]#") and str(tmp_path) not in rows[0]["source"]

    with pytest.raises(SeedError, match=r"'hf.data_files' is needed with the builder 'json'"):
        collect_seeds(settings_for({"source": "hf", "hf": {"dataset": "json"}}))

    other, _, _ = collect_seeds(settings_for({"source": "hf", "hf": {**by_name, "name": "other"}}))
    assert {row["seed"] for row in other} == {"int main() { return 0; }\n"}


def test_the_own_code_overlay_reads_a_folder_and_scans_it(tmp_path, root):
    """configs/own-code.yaml as shipped: a folder of one's own (given as an overlay's root), several
    snippets per file, the scan on; its seeds stage runs through the library as the rule runs it."""
    from ossinstruct.config import load_layered

    repo = repository(tmp_path)
    config = load_layered([root / "configs/own-code.yaml"])
    languages = config["seeds"]["languages"]
    assert languages["python"]["source"] == "local" and config["seeds"]["scan_secrets"]
    languages["python"]["roots"] = [str(repo)]
    assert all(spec["quota"] == 0 for lang, spec in languages.items() if lang != "python")
    rows, report, _ = collect_seeds({**config["seeds"], "languages": {"python": {**languages["python"], "quota": 20}}})
    assert len(rows) == 20 and report["secrets"]["flagged"] >= 2
