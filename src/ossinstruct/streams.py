"""JSON Lines read in shards and written back in order, with memory bounded by one row.

Shard `i` of `n` of a file is a contiguous byte range, cut at line starts, so a job seeks to its
slice instead of reading the file before it, and the shards' rows joined in order are the file's
rows. Two merges rebuild a stage's single file: `concatenate` (a stage that keeps its input's
order: parse, decontamination) and `merge_by_rank` (the exact dedup's shuffled order: each shard's
rows sorted by their rank, merged with a heap, the way datatrove and NeMo Curator merge sorted
shards).
"""

from __future__ import annotations

import heapq
import json
import os
import shutil
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from .io import atomic_writer, decode_row, require_fields
from .shards import parse_shard, sample_positions, shard_bounds


def _line_start(handle, offset: int) -> int:
    """The first line start at or after `offset`."""
    if offset <= 0:
        return 0
    handle.seek(offset - 1)
    handle.readline()
    return handle.tell()


def byte_range(path: str | os.PathLike, shard: str) -> tuple[int, int]:
    """Shard `i-of-n`'s bytes of the file: [start, stop), both at line starts."""
    index, count = parse_shard(shard)
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        return _line_start(handle, size * index // count), _line_start(handle, size * (index + 1) // count)


def shard_lines(path: str | os.PathLike, shard: str = "0-of-1") -> Iterator[tuple[int, bytes]]:
    """(byte offset, line) of every non-blank line of the shard."""
    start, stop = byte_range(path, shard)
    with open(path, "rb") as handle:
        handle.seek(start)
        offset = start
        while offset < stop:
            line = handle.readline()
            if not line:
                break
            if line.strip():
                yield offset, line
            offset += len(line)


def line_number(path: str | os.PathLike, offset: int) -> int:
    """The line a byte offset is on (counted only when an error needs it)."""
    lines, left = 1, offset
    with open(path, "rb") as handle:
        while left > 0:
            block = handle.read(min(left, 1 << 20))
            if not block:
                break
            lines, left = lines + block.count(b"\n"), left - len(block)
    return lines


def shard_rows(path: str | os.PathLike, shard: str = "0-of-1", require: Iterable[str] = ()) -> Iterator[dict]:
    """The shard's rows; a corrupt row, or one without a field the stage needs, is an error naming
    the file and line, as `io.read_jsonl` does."""
    for _, row in shard_records(path, shard, require):
        yield row


def shard_records(
    path: str | os.PathLike, shard: str = "0-of-1", require: Iterable[str] = ()
) -> Iterator[tuple[bytes, dict]]:
    """(line, row) of each of the shard's rows, checked as `shard_rows` checks them."""
    require = tuple(require)
    for offset, line in shard_lines(path, shard):
        row = decode_row(path, line, lambda offset=offset: line_number(path, offset))
        if any(name not in row for name in require):
            require_fields(path, line_number(path, offset), row, require)
        yield line if line.endswith(b"\n") else line + b"\n", row


def dumps(row: dict) -> bytes:
    """A row as `io.write_jsonl` writes it."""
    return (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")


class Writer:
    """Lines written to a temporary file beside `path`, renamed into place by `close` (or at the end
    of a `with` block, which deletes it instead if the block raises); with `ranks`,
    each line's rank is kept and saved beside it (`<path>.ranks.npy`) for `merge_by_rank`."""

    def __init__(self, path: str | os.PathLike, ranks: bool = False) -> None:
        self.path = Path(path)
        self.handle, self.tmp = atomic_writer(self.path, text=False, buffering=1 << 20)
        self.ranks = array("q") if ranks else None
        self.count = 0

    def write(self, line: bytes, rank: int | None = None) -> None:
        self.handle.write(line)
        self.count += 1
        if self.ranks is not None:
            self.ranks.append(rank)

    def close(self) -> None:
        self.handle.close()
        if self.ranks is not None:
            np.save(ranks_path(self.path), np.frombuffer(self.ranks, dtype=np.int64))
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.handle.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, kind, error, trace) -> None:
        """Renamed into place when the block ends normally; deleted when it raises (no half file)."""
        if kind is None:
            self.close()
        else:
            self.abort()


def ranks_path(path: str | os.PathLike) -> Path:
    return Path(f"{path}.ranks.npy")


def concatenate(paths: Iterable[str | os.PathLike], output: str | os.PathLike) -> None:
    """The shards' files joined byte for byte, in order, into a file of its own: even one shard's is
    copied, not hard-linked, because Snakemake touches every output of a job and then stops it if
    one is older than an input; a link would share the shard's (an input's) time, so that touching
    it makes the outputs touched before it older than that input."""
    paths = list(paths)
    handle, tmp = atomic_writer(output, text=False)
    with handle:
        for path in paths:
            with open(path, "rb") as shard:
                shutil.copyfileobj(shard, handle, 1 << 20)
    os.replace(tmp, output)  # the joined file


def _ranked(path: str | os.PathLike) -> Iterator[tuple[int, bytes]]:
    ranks = np.load(ranks_path(path), mmap_mode="r")
    with open(path, "rb") as handle:
        for rank, line in zip(ranks, handle, strict=True):
            yield int(rank), line


def merge_by_rank(paths: Iterable[str | os.PathLike], output: str | os.PathLike) -> None:
    """The shards' lines (each shard sorted by rank, its ranks beside it) in one file in rank order."""
    paths = list(paths)
    if len(paths) == 1:  # already in rank order
        concatenate(paths, output)
        return
    handle, tmp = atomic_writer(output, text=False, buffering=1 << 20)
    with handle:
        for _, line in heapq.merge(*(_ranked(path) for path in paths)):
            handle.write(line)
    os.replace(tmp, output)


def step_report(step: str, kept: Iterable[dict], excluded: Iterable[dict]) -> dict:
    """Counts in, out and dropped (by reason and by language) for one curation step."""
    counts = StepCounts(step)
    for row in kept:
        counts.keep(row)
    for row in excluded:
        counts.drop(row, row["reason"])
    return counts.report()


class StepCounts:
    """A curation step's counts (`step_report`), kept row by row."""

    def __init__(self, step: str) -> None:
        self.step = step
        self.kept = 0
        self.reasons: Counter = Counter()
        self.by_lang: dict[str, Counter] = {}
        self.kept_by_lang: Counter = Counter()

    def keep(self, row: dict) -> None:
        self.kept += 1
        self.kept_by_lang[row.get("lang", "unknown")] += 1

    def drop(self, row: dict, reason: str) -> None:
        self.reasons[reason] += 1
        self.by_lang.setdefault(row.get("lang", "unknown"), Counter())[reason] += 1

    def report(self) -> dict:
        languages = sorted(set(self.kept_by_lang) | set(self.by_lang))
        by_language = {}
        for lang in languages:
            counts = {"kept": self.kept_by_lang[lang]} if self.kept_by_lang[lang] else {}
            by_language[lang] = {**counts, **self.by_lang.get(lang, {})}
        dropped = sum(self.reasons.values())
        return {
            "step": self.step,
            "rows_in": self.kept + dropped,
            "rows_out": self.kept,
            "dropped": dropped,
            "dropped_by_reason": dict(self.reasons),
            "by_language": by_language,
        }


def merge_step_reports(reports: list[dict]) -> dict:
    """One step report from its shards' (counts summed; the other fields are the first shard's)."""
    merged = dict(reports[0])
    for key in ("rows_in", "rows_out", "dropped"):
        merged[key] = sum(report[key] for report in reports)
    reasons: Counter = Counter()
    languages: dict[str, Counter] = {}
    for report in reports:
        reasons.update(report["dropped_by_reason"])
        for lang, counts in report["by_language"].items():
            languages.setdefault(lang, Counter()).update(counts)
    merged["dropped_by_reason"] = dict(reasons)
    merged["by_language"] = {
        lang: {key: counts[key] for key in sorted(counts, key=lambda key: key != "kept")}
        for lang, counts in sorted(languages.items())
    }
    return merged


def shard_seeds(
    path: str | os.PathLike, shard: str, size: int | None, seed: int, require: Sequence[str] = ()
) -> list[dict]:
    """Shard `shard` ("i-of-n") of the seeds a teacher answers, read without the other shards' rows.
    Every seed (`size` None): the shard's byte range of the file (`streams.byte_range`). `size` of
    them (`sample_seeds`): each row's language and offset first, then the shard's slice of the drawn
    rows, each read at its offset. The shards joined in order are `sample_seeds(every row)`."""
    require = tuple(require)
    if size is None:
        return list(shard_rows(path, shard, require))
    langs, offsets = [], []
    for offset, line in shard_lines(path):
        row = decode_row(path, line, lambda offset=offset: line_number(path, offset))
        if "lang" not in row:
            require_fields(path, line_number(path, offset), row, ("lang", *require))
        langs.append(row["lang"])
        offsets.append(offset)
    chosen = range(len(langs)) if size >= len(langs) else sample_positions(langs, size, seed)
    start, stop = shard_bounds(len(chosen), *parse_shard(shard))
    rows = []
    with open(path, "rb") as handle:
        for position in chosen[start:stop]:
            handle.seek(offsets[position])
            row = decode_row(path, handle.readline(), lambda p=position: line_number(path, offsets[p]))
            if any(name not in row for name in require):
                require_fields(path, line_number(path, offsets[position]), row, require)
            rows.append(row)
    return rows
