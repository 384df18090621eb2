import json
import random
from pathlib import Path

import numpy as np
import pytest

from ossinstruct import seeds
from ossinstruct.seeds import Document, SeedError, extract_seeds, list_documents

from ..sections import section


def collect_seeds(settings: dict):
    """`seeds.collect_seeds` on the test's section with the schema's defaults filled, as validated."""
    return seeds.collect_seeds(section("seeds", settings))


def paper_draw(texts, seed=976, chunk_size=1000, min_lines=1, max_lines=15):
    """The paper's map function, written out: reseed the global RNG per chunk, then draw."""
    out = []
    for start in range(0, len(texts), chunk_size):
        random.seed(seed + start)
        for text in texts[start : start + chunk_size]:
            lines = text.splitlines(keepends=True)
            first = random.choice(range(len(lines)))
            length = random.randint(min_lines, max_lines)
            out.append("".join(lines[first : first + length]))
    return out


def corpus(n):
    return [Document(f"doc{i}.py", "".join(f"line {i}.{j}\n" for j in range(1 + (i * 7) % 40))) for i in range(n)]


def test_snippets_match_the_paper_rule_across_chunks():
    documents = corpus(25)
    rows = extract_seeds(documents, "python", quota=25, chunk_size=10)
    expected = paper_draw([d.text for d in documents], chunk_size=10)
    assert {row["raw_index"]: row["seed"] for row in rows} == dict(enumerate(expected))


def test_shuffle_is_the_datasets_shuffle_with_seed_976():
    import datasets

    documents = corpus(57)
    rows = extract_seeds(documents, "python", quota=57)
    shuffled = datasets.Dataset.from_dict({"raw_index": list(range(57))}).shuffle(seed=976)
    assert [row["raw_index"] for row in rows] == shuffled["raw_index"]
    assert [row["index"] for row in rows] == list(range(57))


def test_quota_takes_the_first_indices_and_is_deterministic():
    documents = corpus(40)
    first = extract_seeds(documents, "cpp", quota=7)
    assert [row["index"] for row in first] == list(range(7))
    assert [row["id"] for row in first] == [f"cpp-{i}" for i in range(7)]
    assert first == extract_seeds(documents, "cpp", quota=7)
    for row in first:
        assert 1 <= row["n_lines"] <= 15
        lines = documents[row["raw_index"]].text.splitlines(keepends=True)
        assert row["seed"] == "".join(lines[row["start_line"] : row["start_line"] + row["n_lines"]])


def test_a_different_seed_draws_differently():
    documents = corpus(30)
    assert extract_seeds(documents, "python", 30, seed=1) != extract_seeds(documents, "python", 30)


def test_documents_are_sorted_non_empty_utf8_and_capped(tmp_path):
    (tmp_path / "b.py").write_text("print(2)\n")
    (tmp_path / "a.py").write_text("print(1)\n")
    (tmp_path / "empty.py").write_text("  \n")
    (tmp_path / "bad.py").write_bytes(b"\xff\xfe\x00broken")
    (tmp_path / "notes.txt").write_text("not python\n")
    (tmp_path / "site-packages").mkdir()
    (tmp_path / "site-packages" / "c.py").write_text("print(3)\n")
    docs = list_documents([str(tmp_path)], [".py"], max_considered=10, max_file_bytes=1000)
    assert [d.source.split("/")[-1] for d in docs] == ["a.py", "b.py"]
    assert len(list_documents([str(tmp_path)], [".py"], max_considered=1, max_file_bytes=1000)) == 1


def counts(language_report: dict) -> dict:
    """A language's report without its corpus fingerprint (tested on its own below)."""
    return {key: value for key, value in language_report.items() if key != "documents_sha256"}


def test_collect_reports_unmet_quotas_and_missing_roots(tmp_path):
    (tmp_path / "x.py").write_text("a = 1\nb = 2\n")
    settings = {
        "seed": 976,
        "chunk_size": 1000,
        "min_lines": 1,
        "max_lines": 15,
        "max_considered": 100,
        "max_file_bytes": 10_000,
        "languages": {
            "python": {"quota": 3, "roots": [str(tmp_path)], "extensions": [".py"]},
            "rust": {"quota": 2, "roots": [str(tmp_path / "nowhere")], "extensions": [".rs"]},
        },
    }
    rows, report, _ = collect_seeds(settings)
    assert len(rows) == 1
    assert counts(report["languages"]["python"]) == {"documents": 1, "quota": 3, "seeds": 1, "quota_met": False}
    assert report["languages"]["rust"]["seeds"] == 0
    assert np.isscalar(report["total"]) and report["total"] == 1


def test_the_report_fingerprints_the_corpus_so_machines_can_be_compared(tmp_path):
    (tmp_path / "a.py").write_text("a = 1\n")
    (tmp_path / "b.py").write_text("b = 2\n")
    settings = {
        "seed": 976,
        "chunk_size": 1000,
        "min_lines": 1,
        "max_lines": 15,
        "max_considered": 100,
        "max_file_bytes": 10_000,
        "languages": {"python": {"quota": 2, "roots": [str(tmp_path)], "extensions": [".py"]}},
    }

    def fingerprint():
        return collect_seeds(settings)[1]["languages"]["python"]["documents_sha256"]

    first = fingerprint()
    assert len(first) == 64 and fingerprint() == first
    (tmp_path / "c.py").write_text("c = 3\n")  # a package installs one more file
    added = fingerprint()
    assert added != first
    (tmp_path / "c.py").unlink()
    (tmp_path / "b.py").write_text("b = 3\n")  # or changes one
    assert fingerprint() not in (first, added)


CORPUS = Path(__file__).resolve().parents[1] / "data" / "seed_corpus.jsonl"  # 30 documents, 1-37 lines


def paper_seeds(texts, quota, chunk_size):
    """The rule as specified, end to end: the chunked draw, then `Dataset.shuffle(seed=976)`, first `quota`."""
    import datasets

    drawn = datasets.Dataset.from_dict({"seed": paper_draw(texts, chunk_size=chunk_size)}).shuffle(seed=976)
    return drawn["seed"][:quota]


def settings_for(source: dict, quota=12, chunk_size=8, max_considered=150000):
    return {
        "seed": 976,
        "chunk_size": chunk_size,
        "min_lines": 1,
        "max_lines": 15,
        "max_considered": max_considered,
        "max_file_bytes": 10**6,
        "languages": {"python": {"quota": quota, **source}},
    }


def test_a_jsonl_corpus_gives_the_paper_seeds():
    texts = [json.loads(line)["content"] for line in CORPUS.read_text().splitlines()]
    rows, report, _ = collect_seeds(settings_for({"source": "jsonl", "jsonl": str(CORPUS)}))
    assert [row["seed"] for row in rows] == paper_seeds(texts, 12, 8)
    assert counts(report["languages"]["python"]) == {"documents": 30, "quota": 12, "seeds": 12, "quota_met": True}
    assert rows[0]["source"].endswith(f"seed_corpus.jsonl:{rows[0]['raw_index'] + 1}")


def test_a_hugging_face_dataset_is_streamed_in_order_up_to_the_row_limit(tmp_path):
    """The starcoderdata layout (one folder per language of parquet files), read from a local folder."""
    import datasets

    texts = [json.loads(line)["content"] for line in CORPUS.read_text().splitlines()]
    (tmp_path / "python").mkdir()
    datasets.Dataset.from_dict({"content": texts}).to_parquet(str(tmp_path / "python" / "train-00000.parquet"))
    hf = {"dataset": str(tmp_path), "data_dir": "python", "revision": None, "split": "train", "column": "content"}
    rows, _, _ = collect_seeds(settings_for({"source": "hf", "hf": hf}))
    assert [row["seed"] for row in rows] == paper_seeds(texts, 12, 8)
    # The row limit is the paper's "first 150K files": here the first 20.
    rows, report, _ = collect_seeds(settings_for({"source": "hf", "hf": hf}, quota=20, max_considered=20))
    assert report["languages"]["python"]["documents"] == 20
    assert [row["seed"] for row in rows] == paper_seeds(texts[:20], 20, 8)


def test_an_unreachable_dataset_is_named(tmp_path):
    hf = {"dataset": str(tmp_path / "missing"), "data_dir": "python", "revision": None, "split": "train"}
    with pytest.raises(SeedError, match="cannot open Hugging Face dataset .*missing"):
        collect_seeds(settings_for({"source": "hf", "hf": hf}))


def test_a_bad_jsonl_line_is_named_with_file_and_line(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"content": "a\\n"}\n{"text": "b"}\n')
    with pytest.raises(SeedError, match=r"corpus.jsonl:2: not a JSON object with a 'content' field"):
        collect_seeds(settings_for({"source": "jsonl", "jsonl": str(path)}))


def test_empty_documents_keep_their_place_in_the_chunks_but_give_no_seed(tmp_path):
    texts = [json.loads(line)["content"] for line in CORPUS.read_text().splitlines()]
    with_empty = texts[:5] + [""] + texts[5:]
    rng_rows = extract_seeds([Document(str(i), t) for i, t in enumerate(with_empty)], "python", 31, chunk_size=8)
    assert len(rng_rows) == 30 and all(row["seed"] for row in rng_rows)
    assert 5 not in {row["raw_index"] for row in rng_rows}


def test_the_embedded_default_draws_the_same_seeds_on_every_machine(root):
    """config.yaml draws from the shipped corpora (data/seeds/), not from this machine's files, so a
    fresh clone anywhere gets these seeds; a changed corpus or draw changes the fingerprints."""
    import hashlib
    import json

    from ossinstruct.config import load_config

    rows, report, documents = collect_seeds(load_config(root / "config.yaml")["seeds"])
    assert {lang: found["documents_sha256"] for lang, found in report["languages"].items()} == {
        "python": "5fd19b6e9edf912713929ff35410d74711bae2c692177e953f11b072115dd762",
        "cpp": "76b14b0320c76a2fcf56a573a38e71164371ff19427fb4b4cfcb8db9affacbdb",
        "shell": "f1df9d260834c7e7999c240d569b311fcfcada951933090f5b3394f951221915",
    }
    drawn = "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows).encode()
    assert hashlib.sha256(drawn).hexdigest() == "168c1a1fdac9ba03d5e89954ff73ddd0682c5f2177af3925f9a5cfbd44805d87"
    assert [document["source"] for document in documents] == [row["source"] for row in rows]
    for document, row in zip(documents, rows, strict=True):  # each seed is a slice of its document
        lines = document["content"].splitlines(keepends=True)
        assert row["seed"] == "".join(lines[row["start_line"] : row["start_line"] + row["n_lines"]])


def test_another_teacher_answers_a_seeded_sample_in_proportion_to_the_languages():
    from ossinstruct.shards import sample_seeds

    rows = [{"id": f"python-{i}", "lang": "python"} for i in range(8)] + [
        {"id": f"{lang}-{i}", "lang": lang} for lang in ("cpp", "rust") for i in range(2)
    ]
    sample = sample_seeds(rows, 6, 976)
    assert [row["lang"] for row in sample].count("python") == 4  # 6 x 8/12
    assert [row["lang"] for row in sample].count("cpp") == 1 and [row["lang"] for row in sample].count("rust") == 1
    assert sample == sorted(sample, key=rows.index)  # in the seeds' order
    assert sample_seeds(rows, 6, 976) == sample and sample_seeds(rows, 6, 1) != sample
    assert sample_seeds(rows, None, 976) == rows and sample_seeds(rows, 99, 976) == rows
    assert rows[:6] != sample  # not simply the first N (all Python)
