"""The curation in shards (parse, the exact dedup, decontamination, the SFT rows) gives exactly the
files of today's single-job functions, the oracles (`parse.run`, `clean.run`, `decontaminate.run`,
`sft.to_sft_rows`), for 1, 2, 3 and 7 shards of 20K synthetic responses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ossinstruct import clean, decontaminate, parse, sft
from ossinstruct.benchmark_strings import load_benchmark_strings
from ossinstruct.io import DataError, read_json, read_jsonl, write_jsonl
from ossinstruct.settings import STAGES
from ossinstruct.shards import shard_names
from ossinstruct.streams import byte_range, shard_rows

from ..conftest import ROOT
from ..curation_rows import MERGED, REPORTS, call, curation_jobs, drop_merged, responses, write
from ..sections import section

BENCHMARKS = {
    "humaneval": str(ROOT / "data/benchmarks/HumanEval.jsonl.gz"),
    "mbpp": str(ROOT / "data/benchmarks/mbpp.jsonl"),
}
ROWS = 20_000


def settings(stage: str, **overrides) -> dict:
    curate = section("curate", overrides)
    return {key: curate[key] for key in STAGES[stage].keys}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("curation")
    families, _ = load_benchmark_strings(BENCHMARKS)
    planted = tuple(strings[3] for strings in families.values())
    write(folder / "responses.jsonl", responses(ROWS, seed=7, scale=0.3, planted=planted))
    oracle = folder / "oracle"
    oracle.mkdir()
    single(folder / "responses.jsonl", oracle)
    return folder


def single(responses_file: Path, out: Path, **overrides) -> None:
    """Today's single jobs."""
    parse.run(
        responses=str(responses_file),
        parsed=str(out / "parsed.jsonl"),
        excluded=str(out / "parsed_excluded.jsonl"),
        report=str(out / "parsed_report.json"),
        settings=settings("parse", **overrides),
    )
    clean.run(
        parsed=str(out / "parsed.jsonl"),
        clean=str(out / "clean.jsonl"),
        excluded=str(out / "clean_excluded.jsonl"),
        report=str(out / "clean_report.json"),
        settings=settings("clean", **overrides),
    )
    decontaminate.run(
        rows=str(out / "clean.jsonl"),
        kept=str(out / "decontaminated.jsonl"),
        excluded=str(out / "decontaminated_excluded.jsonl"),
        report=str(out / "decontaminated_report.json"),
        settings=settings("decontaminate", **overrides),
        benchmarks=BENCHMARKS,
    )
    write_jsonl(out / "sft.jsonl", sft.to_sft_rows(read_jsonl(out / "decontaminated.jsonl")))


def sharded(responses_file: Path, out: Path, count: int, **overrides) -> None:
    """The shard jobs and their merges, as the workflow runs them."""
    for _, _, function, arguments, temporary in curation_jobs(
        responses_file, out, count, lambda stage: settings(stage, **overrides), BENCHMARKS
    ):
        call(function, arguments)
        drop_merged(out, temporary)


COMPARED = MERGED


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_give_exactly_the_single_jobs_files(data, tmp_path, count):
    sharded(data / "responses.jsonl", tmp_path, count)
    oracle = data / "oracle"
    for name in COMPARED:
        assert (tmp_path / name).read_bytes() == (oracle / name).read_bytes(), name
    for name in REPORTS:
        assert read_json(tmp_path / name) == read_json(oracle / name), name
    # The synthetic rows exercise every step: each drops rows for each of its reasons.
    reasons = {name: read_json(oracle / name)["dropped_by_reason"] for name in REPORTS}
    assert {"finish_reason_length", "missing_solution_header", "headers_out_of_order"} <= set(
        reasons["parsed_report.json"]
    )
    assert {"duplicate_seed", "duplicate_problem", "duplicate_solution"} <= set(reasons["clean_report.json"])
    assert len(reasons["decontaminated_report.json"]) >= 3, reasons  # HumanEval's and MBPP's families
    assert read_json(oracle / "decontaminated_report.json")["ngram_overlap_of_kept_rows"]["rows"] > ROWS // 2


def test_minhash_runs_in_the_merge_and_equals_the_single_job(data, tmp_path):
    """`curate.minhash` (not the paper's) is a global pass: it runs over the merged rows."""
    rows = tmp_path / "responses.jsonl"
    made = list(responses(600, seed=3, scale=0.3))
    for i in range(500, 560):  # near-copies of earlier answers: one more word, a seed of their own
        made[i] = {**made[i - 500], "id": f"near-{i}", "seed": f"near seed {i}"}
        for header in ("[Problem Description]\n", "[Solution]\n"):
            made[i]["response"] = made[i]["response"].replace(header, header + "note ", 1)
    write(rows, made)
    minhash = {"minhash": {"enabled": True, "threshold": 0.5}}
    (tmp_path / "oracle").mkdir()
    single(rows, tmp_path / "oracle", **minhash)
    sharded(rows, tmp_path / "ours", 3, **minhash)
    for name in COMPARED:
        assert (tmp_path / "ours" / name).read_bytes() == (tmp_path / "oracle" / name).read_bytes(), name
    assert read_json(tmp_path / "ours/clean_report.json") == read_json(tmp_path / "oracle/clean_report.json")
    assert "near_duplicate" in read_json(tmp_path / "oracle/clean_report.json")["dropped_by_reason"]


def test_byte_ranges_cut_at_line_starts_and_cover_the_file(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"i": i, "pad": "x" * (i % 13)}) + "\n" for i in range(101)))
    for count in (1, 2, 3, 7, 150):
        ranges = [byte_range(path, name) for name in shard_names(count)]
        assert ranges[0][0] == 0 and ranges[-1][1] == path.stat().st_size
        assert all(stop == start for (_, stop), (start, _) in zip(ranges, ranges[1:], strict=False))
        rows = [row["i"] for name in shard_names(count) for row in shard_rows(path, name)]
        assert rows == list(range(101))


def test_a_corrupt_row_in_a_shard_names_its_file_and_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"i": i}) + "\n" for i in range(50)) + "{not json\n")
    with pytest.raises(DataError, match=r"rows.jsonl:51: not valid JSON"):
        list(shard_rows(path, "1-of-2"))
    with pytest.raises(DataError, match=r"rows.jsonl:1: row has no 'problem' field"):
        list(shard_rows(path, "0-of-2", require=("problem",)))


def reference_overlap(rows, families, n, columns):
    """The n-gram report as first written (a set of word tuples per row), the reference of the
    automaton that replaced it."""
    import re

    def grams(text):
        words = re.findall(r"\w+", text.lower())
        return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}

    owner = {}
    for family, strings in families.items():
        for string in strings:
            for gram in grams(string):
                owner.setdefault(gram, set()).add(family)
    with_any, by_family = 0, dict.fromkeys(families, 0)
    for row in rows:
        hit = set()
        for gram in grams("\n\n".join(row[column] for column in columns)):
            hit |= owner.get(gram, set())
        with_any += bool(hit)
        for family in hit:
            by_family[family] += 1
    return with_any, by_family


@pytest.mark.parametrize("n", [1, 2, 5, 10])
def test_the_ngram_report_finds_exactly_the_rows_sharing_a_word_ngram(data, n):
    families = {
        "fam": ["def add_one(x): return x + 1", "Find the longest común prefix of words"],
        "other": ["sorted list of unique values", "x", "Given a list of numbers, return the sum of all the even ones."],
    }
    rows = read_jsonl(data / "oracle" / "clean.jsonl")[:400]
    rows += [  # whole words only: "add_one" is not in "add_ones", "común" is a word, case is ignored
        {"id": "a", "problem": "DEF ADD_ONE(X): RETURN X + 1 please", "solution": ""},
        {"id": "b", "problem": "def add_ones(x): return x + 1", "solution": "the longest común prefix of"},
        {"id": "c", "problem": "a sorted", "solution": "list of unique values"},
        {"id": "d", "problem": "unsorted listing of uniquevalues", "solution": "x"},
        {"id": "e", "problem": "GIVEN a list -- of numbers; return the sum of all the even ONES!", "solution": ""},
        {"id": "f", "problem": "the nonunique values", "solution": ""},  # "unique values" only inside a word
    ]
    report = decontaminate.ngram_overlap(rows, families, n, ["problem", "solution"])
    with_any, by_family = reference_overlap(rows, families, n, ["problem", "solution"])
    assert (report["rows_with_overlap"], report["rows_with_overlap_by_family"]) == (with_any, by_family)
    assert with_any >= 1


def test_one_shard_becomes_a_merged_file_of_its_own_that_snakemakes_touch_leaves_the_shard_alone(tmp_path):
    """Snakemake touches every output of a finished job, one after another, then stops the job if an
    output is older than an input. A merged file that shared the shard's inode (a hard link) would
    carry each touch to the shard, an input, and make the outputs touched before it older than it."""
    import os
    import time

    from ossinstruct.streams import concatenate, merge_by_rank

    shard = tmp_path / "shard.jsonl"
    shard.write_text('{"i": 0}\n')
    np.save(tmp_path / "shard.jsonl.ranks.npy", np.zeros(1, dtype=np.int64))
    before = shard.stat().st_mtime_ns
    for merge, output in ((concatenate, tmp_path / "joined.jsonl"), (merge_by_rank, tmp_path / "ranked.jsonl")):
        merge([shard], output)
        assert output.read_text() == '{"i": 0}\n'
        time.sleep(0.01)
        os.utime(output)  # Snakemake's touch
        assert shard.stat().st_mtime_ns == before
        assert output.stat().st_mtime_ns > before


def test_a_shard_job_that_fails_leaves_no_file_behind(tmp_path):
    from ossinstruct.streams import Writer

    with pytest.raises(RuntimeError), Writer(tmp_path / "rows.jsonl") as out:
        out.write(b'{"i": 0}\n')
        raise RuntimeError("the job dies half-way")
    assert list(tmp_path.iterdir()) == []
    with Writer(tmp_path / "rows.jsonl") as out:
        out.write(b'{"i": 0}\n')
    assert [path.name for path in tmp_path.iterdir()] == ["rows.jsonl"]
