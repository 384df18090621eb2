"""Stage 3b over shards: the paper's exact dedup (`clean.clean_pairs`, the oracle) with each job's
memory bounded by compact keys, not rows.

1. `KeyWriter` (in each parse shard's job): per parsed row, a 16-byte BLAKE2b digest of its seed,
   problem and solution with all whitespace removed, its id and its line's length.
2. `rank_duplicates` (one job over every shard's keys; of the merged parsed file it reads only the
   lines at the shards' byte-range boundaries): the paper's
   `random.Random(666).shuffle` as a permutation of positions, each field's digests numbered by
   `numpy.unique`, then the paper's first-wins pass in shuffled order over those numbers: a row is
   kept only if none of its three keys is held by a row kept before it. It writes each shard's
   verdicts: every row's rank, whether it is kept, and for a duplicate its field and the id of the
   kept row it repeats, for the rows in each shard's byte range of the merged parsed file.
3. `apply_verdicts` (in each shard's job): the shard's kept and dropped rows, each file sorted by
   rank, with the ranks beside it; `streams.merge_by_rank` joins the shards into exactly the single
   job's files.

Equal to the oracle unless two different texts share a 128-bit digest (a chance of about 1 in 10^24
for ten million rows).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
from array import array
from pathlib import Path

import numpy as np

from .clean import FIELDS, minhash_dedup, squeeze
from .io import DataError, read_json, write_json
from .streams import StepCounts, Writer, byte_range, dumps, merge_by_rank, merge_step_reports, shard_lines, step_report

log = logging.getLogger(__name__)
DIGEST = 16
REASONS = (None, *(f"duplicate_{field}" for field in FIELDS))  # a verdict's code: 0 kept, 1 + field


def digest(text: str) -> bytes:
    return hashlib.blake2b(squeeze(text).encode("utf-8"), digest_size=DIGEST).digest()


class KeyWriter:
    """The dedup keys of one shard's parsed rows, in their order."""

    def __init__(self) -> None:
        self.digests = {field: bytearray() for field in FIELDS}
        self.ids = bytearray()
        self.ends = array("q")
        self.lengths = array("q")  # each row's line in the parsed file, in bytes

    def add(self, row: dict, where: str, length: int) -> None:
        for field in FIELDS:
            if not isinstance(row.get(field), str):
                raise DataError(f"{where}: row has no text field {field!r} (the dedup needs {', '.join(FIELDS)})")
            self.digests[field] += digest(row[field])
        self.ids += json.dumps(row.get("id")).encode("utf-8")
        self.ends.append(len(self.ids))
        self.lengths.append(length)

    def save(self, path: str | os.PathLike) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(f"{path}.tmp.npz")
        arrays = {field: np.frombuffer(bytes(self.digests[field]), dtype=f"V{DIGEST}") for field in FIELDS}
        np.savez(
            tmp,
            ids=np.frombuffer(bytes(self.ids), dtype=np.uint8),
            ends=np.frombuffer(self.ends, np.int64),
            lengths=np.frombuffer(self.lengths, np.int64),
            **arrays,
        )
        os.replace(tmp, path)


def _ids(keys: list) -> tuple[bytes, np.ndarray]:
    """Every row's id (JSON text) in position order: one blob and each id's end in it."""
    blobs, ends, base = [], [], 0
    for key in keys:
        blobs.append(key["ids"].tobytes())
        ends.append(key["ends"] + base)
        base += len(blobs[-1])
    return b"".join(blobs), np.concatenate(ends) if ends else np.zeros(0, np.int64)


def rank_duplicates(key_files: list[str], verdict_files: list[str], parsed: str, seed: int = 666) -> dict:
    """The paper's first-wins pass in shuffled order over every parse shard's keys, and one verdict
    file per shard of `parsed` (the merged parsed rows: shard i's verdicts are those of the rows in
    its byte range, found from the rows' lengths). Returns counts of the pass."""
    keys = [np.load(path) for path in key_files]
    total = sum(len(key["ends"]) for key in keys)
    order = list(range(total))
    random.Random(seed).shuffle(order)  # what shuffling `total` rows with this seed does to positions

    groups, seen, holder = [], [], []
    for field in FIELDS:
        digests = np.concatenate([key[field] for key in keys]) if keys else np.zeros(0, f"V{DIGEST}")
        unique, inverse = np.unique(digests, return_inverse=True)
        del digests
        groups.append(array("i", inverse.astype(np.int32).tobytes()))
        seen.append(bytearray(len(unique)))
        holder.append(array("i", bytes(4 * len(unique))))
        del unique, inverse

    verdict = bytearray(total)  # 0 kept, else 1 + the first duplicate field
    duplicate_of = array("i", bytes(4 * total))  # the kept row's position
    seed_group, problem_group, solution_group = groups
    seen_seed, seen_problem, seen_solution = seen
    for position in order:
        g0, g1, g2 = seed_group[position], problem_group[position], solution_group[position]
        if seen_seed[g0]:
            verdict[position], duplicate_of[position] = 1, holder[0][g0]
        elif seen_problem[g1]:
            verdict[position], duplicate_of[position] = 2, holder[1][g1]
        elif seen_solution[g2]:
            verdict[position], duplicate_of[position] = 3, holder[2][g2]
        else:
            seen_seed[g0] = seen_problem[g1] = seen_solution[g2] = 1
            holder[0][g0] = holder[1][g1] = holder[2][g2] = position
    del groups, seen, holder
    rank = np.empty(total, dtype=np.int32)
    rank[np.asarray(order, dtype=np.int32)] = np.arange(total, dtype=np.int32)
    del order

    blob, ends = _ids(keys)
    starts = np.concatenate([[0], ends[:-1]]) if total else ends
    verdicts = np.frombuffer(verdict, dtype=np.uint8)
    duplicates = np.frombuffer(duplicate_of, dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum(np.concatenate([key["lengths"] for key in keys]))]) if keys else [0]
    if offsets[-1] != os.path.getsize(parsed):
        raise DataError(
            f"{parsed}: {os.path.getsize(parsed)} bytes, its shards' keys say {offsets[-1]}: rerun the parse"
        )
    for index, path in enumerate(verdict_files):
        start, stop = byte_range(parsed, f"{index}-of-{len(verdict_files)}")
        first, last = int(np.searchsorted(offsets, start)), int(np.searchsorted(offsets, stop))
        part = slice(first, last)
        dropped = np.flatnonzero(verdicts[part]) + first
        repeated = duplicates[dropped]
        texts = b"".join(blob[starts[p] : ends[p]] + b"\n" for p in repeated.tolist())
        tmp = Path(f"{path}.tmp.npz")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            tmp,
            verdict=verdicts[part],
            rank=rank[part].astype(np.int64),
            duplicate_of=np.frombuffer(texts, dtype=np.uint8),
        )
        os.replace(tmp, path)
    kept = int(np.count_nonzero(verdicts == 0))
    return {"rows": total, "kept": kept, "shards": len(verdict_files)}


def apply_verdicts(*, parsed: str, shard: str, verdicts: str, clean: str, excluded: str) -> dict:
    """Shard `shard` of the parsed rows: its kept rows and dropped rows (with `reason` and
    `duplicate_of`), each sorted by rank with its ranks beside it; its clean step report."""
    found = np.load(verdicts)
    verdict, rank = found["verdict"], found["rank"]
    offsets = array("q")
    counts = StepCounts("clean")
    for position, (offset, line) in enumerate(shard_lines(parsed, shard)):
        if position >= len(verdict):
            raise DataError(f"{parsed}: more rows than its verdicts ({verdicts}, {len(verdict)} rows): rerun the dedup")
        offsets.append(offset)
        row = json.loads(line)
        if verdict[position]:
            counts.drop(row, REASONS[verdict[position]])
        else:
            counts.keep(row)
    if len(offsets) != len(verdict):
        raise DataError(f"{parsed}: {len(offsets)} rows, its verdicts ({verdicts}) {len(verdict)}: rerun the dedup")
    dropped = np.flatnonzero(verdict)
    repeated = found["duplicate_of"]
    ends = np.flatnonzero(repeated == ord("\n"))
    starts = np.concatenate([[0], ends[:-1] + 1]) if len(ends) else ends

    def duplicate_id(position: int):
        k = int(np.searchsorted(dropped, position))
        return json.loads(repeated[starts[k] : ends[k]].tobytes())

    order = np.argsort(rank, kind="stable")
    with Writer(clean, ranks=True) as kept_out, Writer(excluded, ranks=True) as dropped_out:
        with open(parsed, "rb") as handle:
            for position in order.tolist():
                handle.seek(offsets[position])
                line = handle.readline()
                if verdict[position]:
                    row = json.loads(line)
                    row = {**row, "reason": REASONS[verdict[position]], "duplicate_of": duplicate_id(position)}
                    dropped_out.write(dumps(row), int(rank[position]))
                else:
                    kept_out.write(line if line.endswith(b"\n") else line + b"\n", int(rank[position]))
    return {**counts.report(), "minhash": None}


def run_ranks(*, keys: list[str], parsed: str, verdicts: list[str], settings: dict) -> None:
    counts = rank_duplicates(keys, verdicts, parsed, seed=settings["shuffle_seed"])
    log.info("exact dedup over %d shards: %d rows, %d kept", counts["shards"], counts["rows"], counts["kept"])


def run_shard(
    *, parsed: str, shard: str, verdicts: str, clean: str, excluded: str, report: str, settings: dict
) -> None:
    summary = apply_verdicts(parsed=parsed, shard=shard, verdicts=verdicts, clean=clean, excluded=excluded)
    write_json(report, {**summary, "minhash": settings["minhash"] or None})


def merge(
    *,
    shard_clean: list[str],
    shard_excluded: list[str],
    shard_reports: list[str],
    clean: str,
    excluded: str,
    report: str,
    settings: dict,
) -> None:
    """The shards' files as the single job's: merged by rank.
    With `minhash.enabled` (not the paper's), its near-duplicate pass then runs here, over every
    kept row in memory as in `clean.clean_pairs`: that option does not scale with the shards."""
    merge_by_rank(shard_clean, clean)
    merge_by_rank(shard_excluded, excluded)
    merged = merge_step_reports([read_json(path) for path in shard_reports])
    if settings["minhash"] and settings["minhash"].get("enabled"):
        from .io import iter_jsonl, write_jsonl

        kept, near = minhash_dedup(list(iter_jsonl(clean)), settings["minhash"])
        exact = list(iter_jsonl(excluded))
        write_jsonl(clean, kept)
        write_jsonl(excluded, exact + near)
        merged = {**step_report("clean", kept, exact + near), "minhash": settings["minhash"]}
    write_json(report, merged)
