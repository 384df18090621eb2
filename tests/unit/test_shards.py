"""Shards: contiguous slices whose concatenation is the whole, merged reports, and cache files
that a differently sharded rerun reuses instead of asking the teacher again."""

import pytest

from ossinstruct.io import DataError, read_jsonl, write_jsonl
from ossinstruct.shards import (
    merge_generation_reports,
    parse_shard,
    sample_seeds,
    shard_names,
    shard_slice,
)
from ossinstruct.streams import shard_seeds
from ossinstruct.teacher.cache import ResponseCache, cache_files


@pytest.mark.parametrize("total", [0, 1, 7, 64, 101])
@pytest.mark.parametrize("count", [1, 2, 3, 8])
def test_shards_partition_the_rows_in_order(total, count):
    rows = list(range(total))
    parts = [shard_slice(rows, *parse_shard(name)) for name in shard_names(count)]
    assert [row for part in parts for row in part] == rows
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def seed_rows(n: int) -> list[dict]:
    langs = ["python"] * 6 + ["cpp", "rust", "shell"]
    return [{"id": f"s{i}", "lang": langs[i * 7 % 9], "seed": "x" * (i % 50), "index": i} for i in range(n)]


@pytest.mark.parametrize("size", [None, 1, 300, 999, 5000])
@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_teacher_shards_read_their_own_seeds_and_join_into_the_drawn_seeds(tmp_path, size, count):
    """Each teacher shard reads only its seeds (`shard_seeds`); joined in order they are exactly
    today's draw, `sample_seeds` over every row (a sample of some, or all of them)."""
    path = tmp_path / "seeds.jsonl"
    write_jsonl(path, seed_rows(1000))
    parts = [shard_seeds(path, name, size, 976, ("id", "seed")) for name in shard_names(count)]
    assert [row for part in parts for row in part] == sample_seeds(read_jsonl(path), size, 976)
    assert sum(map(len, parts)) == min(size or 1000, 1000)


def test_a_teacher_shard_does_not_read_the_other_shards_seeds(tmp_path):
    """Every seed answered: a shard reads its byte range only, so a corrupt row in another shard's
    range stops that shard alone, and names its file and line."""
    path = tmp_path / "seeds.jsonl"
    write_jsonl(path, seed_rows(100))
    lines = path.read_text().splitlines(keepends=True)
    lines[90] = "{not json\n"
    path.write_text("".join(lines))
    assert len(shard_seeds(path, "0-of-2", None, 976)) == 50
    with pytest.raises(DataError, match=r"seeds.jsonl:91: not valid JSON"):
        shard_seeds(path, "1-of-2", None, 976)
    with pytest.raises(DataError, match=r"seeds.jsonl:91: not valid JSON"):  # a sample reads every language
        shard_seeds(path, "0-of-2", 10, 976)


def test_a_shard_that_does_not_exist_is_refused():
    with pytest.raises(ValueError, match="shard 3 of 3"):
        shard_slice([1, 2, 3], 3, 3)


def test_merged_report_adds_counts_and_keeps_every_failure():
    def report(seeds, failures, cause):
        return {
            "teacher": "t",
            "seeds": seeds,
            "requests": seeds,
            "cache_hits": 0,
            "answered": seeds - len(failures),
            "attempts": seeds + 1,
            "failed": len(failures),
            "failures": failures,
            "prompt_tokens": 10 * seeds,
            "cost_usd": 0.5,
            "retries_by_cause": {cause: 1},
            "finish_reasons": {"stop": seeds},
            "wall_s": seeds,
            "median_latency_s": 1.0,
            "shard": "x",
        }

    merged = merge_generation_reports([report(4, [], "timeout"), report(6, [{"id": "s9"}], "http_500")])
    assert merged["seeds"] == 10 and merged["answered"] == 9 and merged["failed"] == 1
    assert merged["failures"] == [{"id": "s9"}] and merged["prompt_tokens"] == 100 and merged["cost_usd"] == 1.0
    assert merged["retries_by_cause"] == {"timeout": 1, "http_500": 1} and merged["finish_reasons"] == {"stop": 10}
    assert merged["wall_s"] == 6 and merged["shards"] == 2 and len(merged["by_shard"]) == 2
    assert "shard" not in merged


def test_each_shard_writes_its_own_cache_file_and_reuses_the_others(tmp_path):
    own, others = cache_files(str(tmp_path), "t", "0-of-1")
    assert own == tmp_path / "teacher-responses.sqlite" and others == []
    unsharded = ResponseCache(own)
    unsharded.put("k1", {"r": 1}, {"response": "one"})
    unsharded.put("k2", {"r": 2}, {"response": "two"})
    unsharded.close()

    own, others = cache_files(str(tmp_path), "t", "1-of-2")
    assert own == tmp_path / "teacher-responses.d" / "t.shard-1-of-2.sqlite" and others == [
        tmp_path / "teacher-responses.sqlite"
    ]
    shard = ResponseCache(own)
    assert shard.adopt(others, ["k2", "k3"]) == 1  # k3 was never answered
    assert shard.get("k2") == {"response": "two"} and shard.get("k1") is None and shard.get("k3") is None
    shard.close()
    # A file that is not a cache is skipped with a warning: its answers would simply be asked again.
    (tmp_path / "teacher-responses.d" / "broken.sqlite").write_text("not a database")
    own, others = cache_files(str(tmp_path), "t", "0-of-2")
    fresh = ResponseCache(own)
    assert fresh.adopt(others, ["k1", "k2", "k9"]) == 2
    fresh.close()


def test_scoring_refuses_shards_that_do_not_cover_every_task_in_order(root, tmp_path):
    """evaluate_model merges the shards' samples and checks them against the task list before EvalPlus."""
    import pytest

    from ossinstruct.config import load_config
    from ossinstruct.evaluate import EvaluationError, scoring
    from ossinstruct.evaluate.prompts import load_tasks
    from ossinstruct.io import write_jsonl

    config = load_config(root / "config.yaml")
    settings = {
        **config["evaluate"],
        "limit": 3,
        "prompt_format": "magicoder",
        "datasets": {k: str(root / v) for k, v in config["evaluate"]["datasets"].items()},
    }
    tasks = load_tasks(root / config["evaluate"]["datasets"]["humaneval"])[:3]
    rows = [{"task_id": task["task_id"], "completion": "    return 1\n```"} for task in tasks]
    write_jsonl(tmp_path / "0.jsonl", rows[:1])
    write_jsonl(tmp_path / "1.jsonl", rows[2:])  # the second task is missing
    with pytest.raises(EvaluationError, match="do not cover the 3 tasks in order"):
        shards = [str(tmp_path / "0.jsonl"), str(tmp_path / "1.jsonl")]
        scoring.run(
            benchmark="humaneval",
            dataset=settings["datasets"]["humaneval"],
            shard_samples=shards,
            model_name="m",
            samples=str(tmp_path / "samples.jsonl"),
            scores=str(tmp_path / "scores.json"),
            settings=settings,
            cache_dir=str(tmp_path / "c"),
        )
    assert not (tmp_path / "scores.json").exists()
